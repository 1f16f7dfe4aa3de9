"""The PostgreSQL pool: opened with bounded retries, crossed into Trio with ``aio_as_trio``.

Every call has a deadline (``timeout``, default ``VIBED_DB_TIMEOUT``): a database that is down
or stalled (SIGSTOP, a hung disk) raises ``DatabaseUnavailable`` in time for a 503, instead of
holding the request.  The asyncio side of a call that timed out is cancelled but not waited
for (``_detached``): asyncpg's own cancellation talks to the server, and a stopped server would
make that wait as long as the stop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import asyncpg
import trio
from trio_asyncio import aio_as_trio

from vibed.logs import get_logger
from vibed.logs.redact import redact_url
from vibed.store.failures import (
    _CONNECTION_ERRORS,
    DatabaseUnavailable,
    _reason,
    as_unavailable,
)
from vibed.store.reader import Reader, init_connection
from vibed.vocab.backoff import jittered

__all__ = ["Database", "DatabaseUnavailable", "DatabaseUnreachable", "open_database", "redact_dsn"]
log = get_logger("vibed.store")
T = TypeVar("T")
RUN_TIMEOUT = 20.0  # seconds for one transaction (a writer batch, a replay page)


class DatabaseUnreachable(RuntimeError):
    """The database could not be reached within the allowed attempts; str() is one clear line."""


def _consume(task: asyncio.Future[Any]) -> None:
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log "never retrieved"


async def _detached(fn: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``fn`` as its own asyncio task; on cancellation cancel it without waiting for it."""
    task = asyncio.ensure_future(fn(*args))
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()
        task.add_done_callback(_consume)
        raise


async def _acquire_detached(pool: asyncpg.Pool) -> asyncpg.Connection:
    """``pool.acquire()`` whose connection goes back to the pool if we stopped waiting for it."""
    task = asyncio.ensure_future(pool.acquire())
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        task.cancel()  # may be too late: the connection arrived as we gave up

        def _return(done: asyncio.Future[Any]) -> None:
            if not done.cancelled() and done.exception() is None:
                asyncio.ensure_future(pool.release(done.result())).add_done_callback(_consume)

        task.add_done_callback(_return)
        raise


def redact_dsn(dsn: str) -> str:
    """The DSN with its password and credential query parameters hidden (see ``vibed.logs.redact``)."""
    return redact_url(dsn)


class Database:
    """A Trio face on an asyncpg pool.  SQL lives in the store modules, not in callers."""

    def __init__(self, pool: asyncpg.Pool, dsn: str, *, timeout: float = 1.5, reader: Reader | None = None) -> None:
        self.pool = pool
        self.dsn = dsn
        self.timeout = timeout  # seconds for one query; transactions (``run``) get RUN_TIMEOUT
        self.reader = reader or Reader(dsn, timeout=timeout)  # the HTTP reads' own connections

    async def read(self, sql: str, *args: Any, batch: bool = True) -> list[asyncpg.Record]:
        """A read endpoint's SELECT, on the reads' own connections (vibed/store/reader.py); ``batch``
        False: never batched with others (a statement whose plan needs its own values)."""
        return await self.reader.fetch(sql, *args, batch=batch)

    async def _call(self, timeout: float | None, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        limit = self.timeout if timeout is None else timeout
        with trio.move_on_after(limit):
            try:
                result: T = await aio_as_trio(_detached)(fn, *args)
                return result
            except Exception as exc:
                raise as_unavailable(exc) from None
        raise DatabaseUnavailable(f"the database did not answer within {limit:g} s")

    async def run(self, fn: Callable[..., Awaitable[T]], *args: Any, timeout: float = 0) -> T:
        """Run an asyncio coroutine function (written against ``self.pool``) from Trio.

        ``timeout`` 0 means ``RUN_TIMEOUT`` (a transaction may do more than one query);
        ``math.inf`` for migrations, which may legitimately take long.
        """
        return await self._call(timeout or RUN_TIMEOUT, fn, *args)

    async def fetch(self, sql: str, *args: Any, timeout: float | None = None) -> list[asyncpg.Record]:
        return await self._call(timeout, self.pool.fetch, sql, *args)

    async def fetchrow(self, sql: str, *args: Any, timeout: float | None = None) -> asyncpg.Record | None:
        return await self._call(timeout, self.pool.fetchrow, sql, *args)

    async def fetchval(self, sql: str, *args: Any, timeout: float | None = None) -> Any:
        return await self._call(timeout, self.pool.fetchval, sql, *args)

    async def execute(self, sql: str, *args: Any, timeout: float | None = None) -> str:
        return await self._call(timeout, self.pool.execute, sql, *args)

    async def acquire(self, timeout: float | None = None) -> asyncpg.Connection:
        """A connection of our own (give it back with ``release``), within the deadline."""
        limit = self.timeout if timeout is None else timeout
        with trio.move_on_after(limit):
            try:
                return await aio_as_trio(_acquire_detached)(self.pool)
            except _CONNECTION_ERRORS as exc:
                raise DatabaseUnavailable(f"the database connection failed: {_reason(exc)}") from None
        raise DatabaseUnavailable(f"no database connection within {limit:g} s")

    async def release(self, conn: asyncpg.Connection) -> None:
        await self._call(self.timeout, self.pool.release, conn)

    async def ping(self, timeout: float = 1.0) -> bool:
        try:
            return bool(await self.fetchval("SELECT 1", timeout=timeout) == 1)
        except (DatabaseUnavailable, asyncpg.PostgresError):
            return False


async def _create_pool(dsn: str, size: int, statement_timeout: float) -> asyncpg.Pool:
    # No loop timers per query or per release: asyncpg arms one for command_timeout and one for
    # max_inactive_connection_lifetime at every release, and under trio-asyncio a cancelled timer
    # (with the context of the HTTP request that armed it) lives until it would have fired —
    # a leak of every request for minutes under load.  PostgreSQL enforces statement_timeout
    # itself; Trio cancel scopes bound our waits.
    return await asyncpg.create_pool(
        dsn, min_size=min(2, size), max_size=size, init=init_connection, timeout=5,
        max_inactive_connection_lifetime=0,
        server_settings={"statement_timeout": str(int(statement_timeout * 1000)), "application_name": "vibed"},
    )


@contextlib.asynccontextmanager
async def open_database(dsn: str, *, pool_size: int = 10, attempts: int = 5, timeout: float = 1.5,
                        statement_timeout: float = 60.0) -> AsyncIterator[Database]:
    """Connect with capped, jittered retries; raise ``DatabaseUnreachable`` after ``attempts``."""
    delay = 0.25
    for attempt in range(1, attempts + 1):
        try:
            pool = await aio_as_trio(_create_pool)(dsn, pool_size, statement_timeout)
            break
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            reason = _reason(exc)
            if attempt == attempts:
                raise DatabaseUnreachable(
                    f"cannot reach the database at {redact_dsn(dsn)} after {attempts} "
                    f"attempt{'s' * (attempts != 1)}: {reason} "
                    "(check DATABASE_URL, or unset it to use the embedded PostgreSQL)"
                ) from None
            log.warning("database_unreachable", attempt=attempt, retry_in=round(delay, 2), error=reason)
            await trio.sleep(jittered(delay, 0.5, 1.5))
            delay = min(delay * 2, 5.0)
    # a read nobody waits for any more (its request got a 503 at ``timeout``) stops soon after in PostgreSQL too
    reader = Reader(dsn, size=max(1, min(4, pool_size // 2)), timeout=timeout,
                    statement_timeout=min(statement_timeout, max(2 * timeout, 1.0)))
    try:
        yield Database(pool, dsn, timeout=timeout, reader=reader)
    finally:
        reader.close_nowait()
        with trio.CancelScope(shield=True), trio.move_on_after(5):
            await aio_as_trio(pool.close)()
