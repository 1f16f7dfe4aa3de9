"""The PostgreSQL pool: opened with bounded retries, crossed into Trio with ``aio_as_trio``."""

from __future__ import annotations

import contextlib
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import trio
from trio_asyncio import aio_as_trio

from vibed.logs import get_logger

log = get_logger("vibed.store")
T = TypeVar("T")


class DatabaseUnreachable(RuntimeError):
    """The database could not be reached within the allowed attempts; str() is one clear line."""


def redact_dsn(dsn: str) -> str:
    parts = urlsplit(dsn)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        parts = parts._replace(netloc=netloc)
    return urlunsplit(parts)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return text.splitlines()[0][:200]


async def _init_connection(conn: asyncpg.Connection) -> None:
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


class Database:
    """A Trio face on an asyncpg pool.  SQL lives in the store modules, not in callers."""

    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self.pool = pool
        self.dsn = dsn

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run an asyncio coroutine function (written against ``self.pool``) from Trio."""
        return await aio_as_trio(fn)(*args)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await aio_as_trio(self.pool.fetch)(sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await aio_as_trio(self.pool.fetchrow)(sql, *args)

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await aio_as_trio(self.pool.fetchval)(sql, *args)

    async def execute(self, sql: str, *args: Any) -> str:
        return await aio_as_trio(self.pool.execute)(sql, *args)

    async def ping(self, timeout: float = 2.0) -> bool:
        with trio.move_on_after(timeout):
            try:
                return await self.fetchval("SELECT 1") == 1
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                return False
        return False


async def _create_pool(dsn: str, size: int) -> asyncpg.Pool:
    # No loop timers per query or per release: asyncpg arms one for command_timeout and one for
    # max_inactive_connection_lifetime at every release, and under trio-asyncio a cancelled timer
    # (with the context of the HTTP request that armed it) lives until it would have fired —
    # a leak of every request for minutes under load.  PostgreSQL enforces statement_timeout
    # itself; Trio cancel scopes bound our waits.
    return await asyncpg.create_pool(
        dsn, min_size=min(2, size), max_size=size, init=_init_connection, timeout=5,
        max_inactive_connection_lifetime=0,
        server_settings={"statement_timeout": "60000", "application_name": "vibed"},
    )


@contextlib.asynccontextmanager
async def open_database(dsn: str, *, pool_size: int = 10, attempts: int = 5) -> AsyncIterator[Database]:
    """Connect with capped, jittered retries; raise ``DatabaseUnreachable`` after ``attempts``."""
    delay = 0.25
    for attempt in range(1, attempts + 1):
        try:
            pool = await aio_as_trio(_create_pool)(dsn, pool_size)
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            reason = _reason(exc)
            if attempt == attempts:
                raise DatabaseUnreachable(
                    f"cannot reach the database at {redact_dsn(dsn)} after {attempts} attempts: {reason} "
                    "(check DATABASE_URL, or unset it to use the embedded PostgreSQL)"
                ) from None
            log.warning("database_unreachable", attempt=attempt, retry_in=round(delay, 2), error=reason)
            await trio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 5.0)
    try:
        yield Database(pool, dsn)
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await aio_as_trio(pool.close)()
