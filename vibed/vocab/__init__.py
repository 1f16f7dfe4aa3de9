"""The vocabulary floor: words every room uses, importing nothing of vibed but each other."""
