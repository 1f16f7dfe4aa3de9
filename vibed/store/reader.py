"""The HTTP reads' queries: connections of their own, prepared statements, one crossing each way.

    rows = await db.reader.fetch(sql, *args)        # Trio side; DatabaseUnavailable as Database's

A read through the pool paid for more than its query: the pool's acquire and release (and the
reset query asyncpg runs at every release, a second round trip), a task to detach, a shield, and
the trio-asyncio adapter around each.  A ``Reader`` keeps ``size`` connections that only ever run
the read endpoints' SELECTs, so no session state is left to reset.  asyncpg prepares each distinct
statement once per connection (its statement cache) and runs it by name after that.

How a query crosses: the Trio task appends its ``Job`` to a list and parks
(``wait_task_rescheduled``); the first job of a batch schedules one asyncio callback (``_drain``),
which hands every job waiting to the connection workers.  A worker runs the query and reschedules
the Trio task with the outcome directly (both flavours run in this one thread, in Trio's loop).
A free worker takes the next job and every job queued behind it for the same statement, and runs
them as one statement when the statement allows (vibed/store/batch_sql.py): under load, one round
trip serves a batch of requests; an idle reader runs each job at once, alone.
A Trio deadline (``Database.timeout``) gives up on a job: the task leaves with DatabaseUnavailable
and the worker drops the rows when they come.  A connection that failed is closed and a new one
is opened for the next job.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import asyncpg
import attrs
import outcome
import trio
import trio_asyncio

from vibed.store.batch_sql import Batch, batch_of
from vibed.store.failures import DatabaseUnavailable, as_unavailable

MAX_BATCH = 32  # statements in one round trip


async def init_connection(conn: asyncpg.Connection) -> None:
    """Every connection's codecs (the pool's and the reader's): json and jsonb as Python values."""
    import json

    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


@attrs.define(eq=False)
class Job:
    sql: str
    args: tuple[Any, ...]
    task: trio.lowlevel.Task
    batch: bool = True  # may share a round trip with jobs of the same statement
    abandoned: bool = False  # the Trio side gave up (deadline, cancellation): no reschedule

    def finish(self, result: outcome.Outcome[Any]) -> None:
        if not self.abandoned:
            self.abandoned = True
            trio.lowlevel.reschedule(self.task, result)


@attrs.frozen
class ReaderStatistics:
    statements: int  # jobs run (each request's read)
    round_trips: int  # statements sent: fewer than jobs when batches formed


@attrs.define(eq=False)
class Reader:
    dsn: str
    size: int = 4
    timeout: float = 1.5  # seconds for one read, queueing included
    statement_timeout: float = 60.0
    _loop: Any = attrs.field(init=False, factory=lambda: trio_asyncio.current_loop.get())
    _pending: list[Job] = attrs.field(init=False, factory=list)  # Trio side, until the next _drain
    _jobs: collections.deque[Job] = attrs.field(init=False, factory=collections.deque)  # asyncio side
    _idle: list[asyncio.Future[None]] = attrs.field(init=False, factory=list)
    _workers: list[asyncio.Task[None]] = attrs.field(init=False, factory=list)
    _batches: dict[str, Batch | None] = attrs.field(init=False, factory=dict)  # batch_of, per statement
    _closed: bool = False
    _statements: int = 0
    _round_trips: int = 0

    def statistics(self) -> ReaderStatistics:
        return ReaderStatistics(self._statements, self._round_trips)

    async def fetch(self, sql: str, *args: Any, batch: bool = True) -> list[asyncpg.Record]:
        """The rows of one read-only statement; DatabaseUnavailable when they do not come in time.
        ``batch`` False: the statement runs alone, never in a batch."""
        if self._closed:
            raise DatabaseUnavailable("the database reader is closed")
        job = Job(sql, args, trio.lowlevel.current_task(), batch)
        if not self._pending:
            self._loop.call_soon(self._drain)  # one asyncio wake-up for every job until it runs
        self._pending.append(job)

        def abort(_: Any) -> trio.lowlevel.Abort:
            job.abandoned = True
            return trio.lowlevel.Abort.SUCCEEDED

        with trio.move_on_after(self.timeout):
            try:
                rows: list[asyncpg.Record] = await trio.lowlevel.wait_task_rescheduled(abort)
                return rows
            except Exception as exc:
                raise as_unavailable(exc) from None
        raise DatabaseUnavailable(f"the database did not answer within {self.timeout:g} s")

    # -- the asyncio side ------------------------------------------------------------------------
    def _drain(self) -> None:
        jobs, self._pending = self._pending, []
        self._jobs.extend(job for job in jobs if not job.abandoned)
        while len(self._workers) < self.size and len(self._jobs) > len(self._idle):
            self._workers.append(self._loop.create_task(self._work()))
        for _ in range(min(len(self._jobs), len(self._idle))):
            waiter = self._idle.pop()
            if not waiter.done():
                waiter.set_result(None)

    async def _work(self) -> None:
        conn: asyncpg.Connection | None = None
        try:
            while True:
                while not self._jobs:
                    waiter = self._loop.create_future()
                    self._idle.append(waiter)
                    await waiter
                jobs = self._take()
                if not jobs:
                    continue
                try:
                    if conn is None or conn.is_closed():
                        conn = await self._connect()
                    await self._run(conn, jobs)
                except Exception as exc:
                    for job in jobs:
                        job.finish(outcome.Error(exc))
                    if conn is not None and (conn.is_closed() or not isinstance(exc, asyncpg.PostgresError)):
                        conn.terminate()  # broken or in doubt: the next job opens a fresh one
                        conn = None
        finally:
            if conn is not None:
                conn.terminate()

    def _take(self) -> list[Job]:
        """The next job, and the jobs waiting behind it for the same statement when it can be
        batched (vibed/store/batch_sql.py): under load they share one round trip."""
        job = self._jobs.popleft()
        if job.abandoned:
            return []
        jobs = [job]
        if job.batch and self._jobs and self._batch(job.sql) is not None:
            rest = collections.deque[Job]()
            while self._jobs:
                other = self._jobs.popleft()
                if other.abandoned:
                    continue
                same = other.sql == job.sql and other.batch and len(jobs) < MAX_BATCH
                (jobs if same else rest).append(other)
            self._jobs = rest
        return jobs

    def _batch(self, sql: str) -> Batch | None:
        if sql not in self._batches:
            if len(self._batches) >= 256:  # statements are few; a flood of shapes is not kept
                self._batches.clear()
            self._batches[sql] = batch_of(sql)
        return self._batches[sql]

    async def _run(self, conn: asyncpg.Connection, jobs: list[Job]) -> None:
        batch = self._batch(jobs[0].sql) if len(jobs) > 1 else None
        self._statements += len(jobs)
        if batch is not None:
            self._round_trips += 1
            try:
                rows = await conn.fetch(batch.sql, *batch.args([job.args for job in jobs]))
            except asyncpg.PostgresError:
                if conn.is_closed():
                    raise
                pass  # one job's values may be what failed: each runs alone below, and fails alone
            else:
                for job, its_rows in zip(jobs, batch.split(rows, len(jobs)), strict=True):
                    job.finish(outcome.Value(its_rows))
                return
        for job in jobs:
            if not job.abandoned:
                self._round_trips += 1
                try:
                    job.finish(outcome.Value(await conn.fetch(job.sql, *job.args)))
                except asyncpg.PostgresError as exc:
                    if conn.is_closed():
                        raise
                    job.finish(outcome.Error(exc))

    async def _connect(self) -> asyncpg.Connection:
        conn = await asyncpg.connect(self.dsn, timeout=5, server_settings={
            "statement_timeout": str(int(self.statement_timeout * 1000)), "application_name": "vibed-reads"})
        await init_connection(conn)
        return conn

    def close_nowait(self) -> None:
        """Stop the workers (their connections are terminated) and refuse what is still waiting."""
        self._closed = True
        for task in self._workers:
            task.cancel()
        for job in [*self._pending, *self._jobs]:
            job.finish(outcome.Error(DatabaseUnavailable("the database reader closed")))
        self._pending, self._workers = [], []
        self._jobs.clear()
