"""Everything outside the process that holds state: PostgreSQL (embedded or real) and Redis.

    postgres.py   the Database handle: every call with a deadline, errors mapped
    aio_loop.py   the asyncio loop, opened once at the top (``open_asyncio_loop`` in vibed.daemon)
    releases.py   the writer's one-transaction upsert, its events and their outbox rows
    outbox.py     the outbox core: the SQL the webhook, Web Push and notify outboxes share
    outbox_owners.py  webhooks and notify targets, read and deleted by their owner only, with their counts
    events.py · listing.py · bucket.py · keys.py · migrations.py · redis.py · redis_ratelimit.py

This is the **only package of vibed that speaks asyncio** (asyncpg and redis-py are asyncio
libraries).  Each module writes its I/O as asyncio coroutines and exposes Trio methods that
cross the boundary with ``trio_asyncio.aio_as_trio``.  The SQL of one feature lives in its room
(pipeline/fetch_state.py, webhooks/outbox.py) and goes through the Database handle; the embedded
server's process is vibed/embedded.
"""
