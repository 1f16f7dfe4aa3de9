"""The vocabulary floor: the words every room uses.  Nothing here imports another room of vibed.

    messages.py    every message and record between rooms, frozen attrs classes, in one screen
    languages.py   the language codes and their JioSaavn names
    clock.py       ``utc_iso`` (the one UTC timestamp format) and the scheduler's (trace) clock
    backoff.py     the one capped, jittered back-off, the jitter, and ``Retry-After``
    wire.py        raw-socket plumbing shared by the edge and the streams (receive, send all)
    client_ip.py   who the client is (trusted proxies, X-Forwarded-For), and its limit key
    edge_keys.py   the private keys between the edge and the app, each defined once
"""
