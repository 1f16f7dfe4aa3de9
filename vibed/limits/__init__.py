"""How much one client may: the per-client limits the edge applies before anything is served.

    limiter.py    GCRA in-process: one timestamp per client, no timers, a bounded table
    api_limit.py  the public API's requests per minute: Redis when configured, in-process otherwise
    peers.py      connections one peer address may hold open (its /64 for IPv6)
"""
