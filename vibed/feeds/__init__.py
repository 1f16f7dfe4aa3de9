"""Feeds: the newest releases as Atom 1.0, RSS 2.0 and JSON Feed 1.1 (``entries`` → ``render``)."""
