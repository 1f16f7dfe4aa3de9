"""A fetcher: takes FetchJobs, performs the steps of each run's paging policy, hands pages to the writer.

In: ``FetchJob``.  Out: ``WriteRequest`` (and it waits for the ``WriteResult``), then one ``JobDone``
on the job's ``results`` channel, even when the job crashed.  Ends when the job channel ends or the
writer is gone.  Several fetchers share one job channel.

A (source, scope) run: claim it (advisory lock + the round's slot, so two daemons never fetch
the same thing for the same round; an adaptive poll is claimed unless polled within its gap),
mark it "resume to the furthest page" (``FetchRun.pessimistic``), then do what its ``FetchRun``
(vibed/pipeline/fetch_run.py: the paging, boundary, resume, cap and suspect-empty rules, no I/O)
asks, step by step: take a token (none → ``fetch_rate_limited``; upstream is never called without
one), fetch page n, look its releases up, ask the scope's health about an empty page 1, write the
run's pages in one request.  When it is done: the real resume mark, then the failure or the success.
Failures back off per (source, scope) with capped, jittered exponential delays that honour
Retry-After (itself capped); success resets them.

A run cut short by a database outage (nothing can be written then) keeps its pessimistic mark,
so the next one catches up.  A database failure ends the job with a ``fetch_error`` line, never
the fetcher; so does any failure while recording a failure.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping

import asyncpg
import attrs
import trio

from vibed.logs import get_logger
from vibed.pipeline import fetch_state
from vibed.pipeline.fetch_run import AskSuspect, Done, FetchPage, FetchRun, LookUp, TakeToken, Write
from vibed.pipeline.health import ScopeHealth
from vibed.store import bucket, releases
from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.vocab.backoff import Backoff
from vibed.vocab.messages import (
    Failure,
    FailureKind,
    FetchJob,
    JobDone,
    Page,
    WriteRequest,
    WriteResult,
    artist_of,
)
from vibed.vocab.source import Source

log = get_logger("vibed.fetcher")
WRITE_TIMEOUT = 60.0  # a writer that never answers: the page is fetched again next round
TOKEN_WAIT_MAX = 5.0  # wait this long for the next token; longer waits go to the next round


@attrs.frozen
class BackoffPolicy:
    base: float = 60.0
    cap: float = 3600.0

    retry_after_cap: float = 86400.0  # an upstream may ask for a day's pause, never more

    def delay(self, failures: int, retry_after: float | None, rng: random.Random) -> float:
        raw = Backoff(self.base, self.cap).delay(failures, rng)
        asked = retry_after if retry_after is not None and math.isfinite(retry_after) else 0.0
        if retry_after == math.inf:
            asked = self.retry_after_cap
        return max(raw, min(max(0.0, asked), self.retry_after_cap))


@attrs.define(eq=False)
class Fetcher:
    name: str
    db: Database
    sources: Mapping[str, Source]
    health: ScopeHealth
    policy: BackoffPolicy = attrs.field(factory=BackoffPolicy)
    rng: random.Random = attrs.field(factory=random.Random)

    async def run(self, jobs: trio.MemoryReceiveChannel[FetchJob], pages: trio.MemorySendChannel[WriteRequest],
                  *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with jobs, pages:
            task_status.started()
            async for job in jobs:
                done = JobDone(job.round_id, job.source, job.scope)
                try:
                    done = await self.run_job(job, pages)
                except trio.BrokenResourceError:
                    return
                finally:
                    report(job, done)  # even on a crash, so the round can end

    async def run_job(self, job: FetchJob, pages: trio.MemorySendChannel[WriteRequest]) -> JobDone:
        """Claim the (source, scope), perform the steps its ``FetchRun`` asks for, record how it ended."""
        nothing = JobDone(job.round_id, job.source, job.scope)
        source = self.sources.get(job.source)
        if source is None or not source.available:
            return nothing
        run: FetchRun | None = None
        try:
            async with fetch_state.hold_run_lock(self.db, job.source, job.scope) as held:
                if not held:
                    log.info("fetch_skipped", source=job.source, language=job.scope, reason="claimed_elsewhere")
                    return nothing
                run = await self._claim(job)
                if run is None:
                    return nothing
                await fetch_state.set_resume(self.db, job.source, job.scope, run.pessimistic)
                done = await self._perform(job, source, run, pages)
                await self._ended(job, run, done)
        except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
            # the database went away mid-run: the run's "resume" mark makes the next one catch up
            log.warning("fetch_error", source=job.source, language=job.scope, kind="database",
                        detail=str(exc)[:200], retry_in=None)
            step = None if run is None else run.next_step()
            if isinstance(step, Done):
                return JobDone(job.round_id, job.source, job.scope, step.requests, step.first_seen, step.events, 1)
            return attrs.evolve(nothing, requests=0 if run is None else run.requests, errors=1)
        return JobDone(job.round_id, job.source, job.scope, done.requests, done.first_seen, done.events,
                       int(done.failure is not None))

    async def _claim(self, job: FetchJob) -> FetchRun | None:
        """This round's (or poll's) claim on the scope, as the run it allows; None: skipped, and why."""
        if job.min_gap_s > 0:
            claimed = await fetch_state.claim_poll(self.db, job.source, job.scope, job.slot, job.min_gap_s)
        else:
            claimed = await fetch_state.claim(self.db, job.source, job.scope, job.slot)
        if claimed is None:
            log.info("fetch_skipped", source=job.source, language=job.scope,
                     reason="polled_recently" if job.min_gap_s > 0 else "fetched_this_round")
            return None
        if claimed.backoff_s > 0:
            log.info("fetch_skipped", source=job.source, language=job.scope, reason="backing_off",
                     retry_in=round(claimed.backoff_s, 1))
            return None
        log.info("fetch_started", source=job.source, language=job.scope, round_id=job.round_id, slot=job.slot)
        if artist_of(job.scope) is not None:  # an artist's latest albums: never its back catalogue
            return FetchRun(job.source, job.scope, job.max_pages, 0, catch_up=False)
        return FetchRun(job.source, job.scope, job.max_pages, claimed.resume_pages)

    async def _perform(self, job: FetchJob, source: Source, run: FetchRun,
                       pages: trio.MemorySendChannel[WriteRequest]) -> Done:
        """The I/O of each step the run asks for, its answer handed back, until it is done."""
        while True:
            match run.next_step():
                case TakeToken(page=number):
                    run.token(await self._take_token(job, source.service, number))
                case FetchPage(page=number):
                    log.debug("fetch_page_requested", source=job.source, language=job.scope, page=number)
                    run.fetched(await self._fetch(source, job, number))
                case LookUp(page=page, keys=keys):
                    self._succeeded(job, page, run.looked_up(await releases.known(self.db, list(keys))))
                case AskSuspect():
                    streak = self.health.records[(job.source, job.scope)].empty_streak
                    suspect = self.health.suspect(job.source, job.scope)
                    if suspect:  # since mid-2026 a blocked network gets empty pages, not errors: say so
                        log.warning("fetch_suspect_empty", source=job.source, language=job.scope, empty_runs=streak)
                    run.suspected(streak if suspect else None)
                case Write(page=whole):
                    run.written(await self._write(whole, pages))
                case Done() as done:
                    return done

    async def _ended(self, job: FetchJob, run: FetchRun, done: Done) -> None:
        """How the run ended, recorded: the real resume mark, then the failure (and its back-off) or the success."""
        if done.kind == "store" and done.failure is not None:
            await self._failed(job, done.failure, kind="store")  # the pessimistic mark stays
            return
        if done.resume is not None and done.resume != run.pessimistic:
            await fetch_state.set_resume(self.db, job.source, job.scope, done.resume)
        if done.failure is not None:
            await self._failed(job, done.failure)
        elif done.complete:
            await fetch_state.record_success(self.db, job.source, job.scope)

    async def _fetch(self, source: Source, job: FetchJob, number: int) -> Page | Failure:
        """The source's page; an answer its parser chokes on is an upstream failure, not a crash."""
        try:
            result: Page | Failure = await source.fetch_page(job.scope, number)
            return result
        except Exception as exc:  # noqa: BLE001 - one hostile answer must not restart the fetcher
            detail = f"could not read the answer: {type(exc).__name__}: {str(exc)[:120]}"
            return Failure(job.source, job.scope, number, FailureKind.UPSTREAM_ERROR, detail)

    async def _take_token(self, job: FetchJob, service: str, page: int) -> bool:
        grant = await bucket.take(self.db, service)
        if not grant.granted and grant.wait_s is not None and grant.wait_s <= TOKEN_WAIT_MAX:
            await trio.sleep(grant.wait_s)
            grant = await bucket.take(self.db, service)
        if grant.granted:
            return True
        log.warning("fetch_rate_limited", source=job.source, language=job.scope, page=page,
                    tokens=round(grant.remaining, 3),
                    retry_in=None if grant.wait_s is None else round(grant.wait_s, 1))
        self.health.rate_limited(job.source, job.scope, grant.wait_s)
        return False

    async def _write(self, page: Page, pages: trio.MemorySendChannel[WriteRequest]) -> WriteResult:
        send, receive = trio.open_memory_channel[WriteResult](1)
        async with receive:
            await pages.send(WriteRequest(page, send))
            with trio.move_on_after(WRITE_TIMEOUT):
                try:
                    return await receive.receive()
                except trio.EndOfChannel:
                    return WriteResult(0, 0, "the writer stopped before answering")
        return WriteResult(0, 0, f"the writer did not answer within {WRITE_TIMEOUT:g}s")

    def _succeeded(self, job: FetchJob, page: Page, first_seen: int) -> None:
        # count: items upstream sent; kept: releases after normalisation (other languages, playlists
        # dropped); new: kept releases the database did not have before this run
        log.info("fetch_success", source=job.source, language=job.scope, page=page.page,
                 count=page.received or len(page.releases), kept=len(page.releases), new=first_seen,
                 last_page=page.last_page)
        self.health.succeeded(job.source, job.scope, page)

    async def _failed(self, job: FetchJob, failure: Failure, kind: str | None = None) -> None:
        try:
            failures = await fetch_state.failures(self.db, job.source, job.scope) + 1
        except (DatabaseUnavailable, asyncpg.PostgresError):
            failures = self.health.failures(job.source, job.scope) + 1
        delay = self.policy.delay(failures, failure.retry_after, self.rng)
        if failure.kind is FailureKind.GONE:
            log.error("source_gone", source=job.source, detail=failure.detail,
                      action="not called again until restart or reload (SIGHUP)")
        log.warning("fetch_error", source=job.source, language=job.scope, page=failure.page,
                    kind=kind or failure.kind.value, status=failure.status, detail=failure.detail,
                    retry_in=round(delay, 1))
        self.health.failed(job.source, job.scope, failure, delay)
        try:
            await fetch_state.record_failure(self.db, job.source, job.scope,
                                             f"{failure.kind.value}: {failure.detail}", delay)
        except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
            # the back-off is still kept in memory (health); never crash while handling a failure
            log.warning("fetch_failure_not_recorded", source=job.source, language=job.scope,
                        error=str(exc)[:200])


def report(job: FetchJob, done: JobDone) -> None:
    """Send a job's result forward to whoever planned it (a round that timed out no longer listens)."""
    if job.results is None:
        return
    try:
        job.results.send_nowait(done)
    except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        pass
