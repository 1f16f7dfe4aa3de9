"""The embedded PostgreSQL server's process: where its data lives, starting it, watching it, its log."""
