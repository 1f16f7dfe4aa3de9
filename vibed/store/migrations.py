"""Numbered SQL files in ``vibed/schema/`` applied in order, once, recorded in ``schema_migrations``.

The files are package data: an installed wheel carries them (the repository's top-level
``schema`` is a link to the same folder).  A directory without migrations is an error, never
"up to date": an install that lost its schema must not start on an empty database.

Safe to run twice and from two processes at once: the whole run holds a transaction-level
advisory lock, and each file is applied in the same transaction as its record.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import asyncpg
import attrs

from vibed.logs import get_logger
from vibed.store.postgres import Database

log = get_logger("vibed.migrate")
_LOCK_KEY = 0x76696265_64  # "vibed": one advisory lock id for all migration runs
_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@attrs.frozen
class Migration:
    version: int
    name: str
    sql: str


class MigrationsMissing(RuntimeError):
    """The schema directory is missing or holds no migration; str() names the fix."""


def schema_dir() -> Path:
    return Path(__file__).resolve().parents[1] / "schema"


def load_migrations(directory: Path | None = None) -> list[Migration]:
    directory = directory or schema_dir()
    if not directory.is_dir():
        raise MigrationsMissing(f"the schema directory {directory} does not exist: this vibed install is "
                                "incomplete; reinstall it (pip install --force-reinstall vibed)")
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match[1]), path.name, path.read_text(encoding="utf-8")))
    if not found:
        raise MigrationsMissing(f"the schema directory {directory} holds no NNNN_name.sql migration: this vibed "
                                "install is incomplete; reinstall it (pip install --force-reinstall vibed)")
    versions = [m.version for m in found]
    if len(set(versions)) != len(versions):
        raise RuntimeError(f"two migrations share a number in {directory}")
    return found


async def _apply(pool: asyncpg.Pool, migrations: list[Migration]) -> list[str]:
    applied: list[str] = []
    async with pool.acquire() as conn:
        async with conn.transaction():
            # serialises concurrent runs; released at commit
            await conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version integer PRIMARY KEY, name text NOT NULL,"
                " applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for migration in migrations:
                if migration.version in done:
                    continue
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version, migration.name,
                )
                applied.append(migration.name)
    return applied


async def migrate(db: Database, directory: Path | None = None) -> list[str]:
    """Apply pending migrations; return the names applied now (empty when up to date)."""
    migrations = load_migrations(directory)
    applied = await db.run(_apply, db.pool, migrations, timeout=math.inf)  # DDL may take long
    for name in applied:
        log.info("migration_applied", name=name)
    return applied
