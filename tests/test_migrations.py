"""Migrations on a real PostgreSQL: applied once, idempotent, safe to run concurrently."""

from __future__ import annotations

import trio

from tests.pg_support import create_test_database
from vibed.store.migrations import load_migrations, migrate
from vibed.store.postgres import open_database


async def test_template_database_is_fully_migrated(db):
    versions = [r["version"] for r in await db.fetch("SELECT version FROM schema_migrations ORDER BY 1")]
    assert versions == [m.version for m in load_migrations()]
    tables = {r["tablename"] for r in await db.fetch("SELECT tablename FROM pg_tables WHERE schemaname='public'")}
    assert {"releases", "events", "rate_limit_tokens", "fetch_state", "schema_migrations"} <= tables


async def test_bucket_is_seeded_as_the_guide_says(db):
    row = await db.fetchrow("SELECT * FROM rate_limit_tokens WHERE service_name = 'jiosaavn'")
    assert (row["tokens"], row["max_tokens"], row["refill_rate"]) == (1000, 1000, 1000)
    assert row["refill_interval"].total_seconds() == 86400


async def test_running_migrations_again_applies_nothing(db):
    assert await migrate(db) == []
    assert await db.fetchval("SELECT count(*) FROM rate_limit_tokens WHERE service_name='jiosaavn'") == 1


async def test_concurrent_migrations_on_an_empty_database_apply_each_file_once(pg_server, aio_loop):
    url = await create_test_database(pg_server)
    async with open_database(url, pool_size=2) as db:
        await db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    results: list[list[str]] = []

    async def one() -> None:
        async with open_database(url, pool_size=1) as db:
            results.append(await migrate(db))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(one)
    applied = sorted(name for result in results for name in result)
    assert applied == sorted(m.name for m in load_migrations())
    async with open_database(url, pool_size=1) as db:
        assert await db.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
