"""Everything outside the process that holds state: PostgreSQL (embedded or real) and Redis.

This is the **only package of vibed that speaks asyncio** (asyncpg and redis-py are asyncio
libraries).  Each module writes its I/O as asyncio coroutines and exposes Trio methods that
cross the boundary with ``trio_asyncio.aio_as_trio``; the loop is opened once, at the top,
by ``open_loop`` in ``vibed.daemon``.
"""
