"""The asyncio bridge: a report an asyncio library makes to its loop is a log line, not an outage."""

from __future__ import annotations

from tests.pipeline_support import captured_logs, events_named
from vibed.store.aio_loop import open_asyncio_loop
from vibed.store.postgres import open_database


async def test_asyncpg_resetting_a_connection_inside_a_transaction_is_logged_and_the_loop_lives_on(db_url):
    with captured_logs() as logs:
        async with open_asyncio_loop(), open_database(db_url, pool_size=1) as db:
            conn = await db.acquire()
            await db.run(conn.execute, "BEGIN")  # a transaction asyncpg does not manage ...
            await db.release(conn)  # ... reported by asyncpg through loop.call_exception_handler
            assert await db.fetchval("SELECT 1") == 1  # the same (only) connection, rolled back and reused
            assert await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in%'") == 0
    [report] = events_named(logs, "asyncio_error")
    assert report["message"].startswith("Resetting connection with an active transaction")
    assert report["log_level"] == "error"
