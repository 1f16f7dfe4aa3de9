"""A fetcher: takes FetchJobs, spends tokens, calls a Source page by page, hands pages to the writer.

In: ``FetchJob``.  Out: ``WriteRequest`` (and it waits for the ``WriteResult``).  Ends when
the job channel ends or the writer is gone.  Several fetchers share one job channel.

A (source, scope) run: claim it (advisory lock + the round's slot, so two daemons never fetch
the same thing for the same round; an adaptive poll is claimed unless polled within its gap),
then for page 1..cap: take a token (none → log ``fetch_rate_limited`` and stop — upstream is
never called without one), fetch, and stop at a page that reaches what the database already
has (nothing new, or ``BOUNDARY_KNOWN`` known items: the page after it holds only older ones,
so page 2 is not paid for when page 1 already shows known items), at ``last_page``, or at the cap.
The pages of the run are then written in one request, so event ids run oldest → newest.
A run cut short (failure, empty bucket, cap) after new releases leaves ``resume_pages`` for
the next run, which pages at least that far, so older new releases are never skipped.
Failures back off per (source, scope) with capped, jittered exponential delays that honour
Retry-After (itself capped); success resets them.

A run marks itself "resume to the cap" before it pages and sets the real value when it ends,
so a run cut short by a database outage (nothing can be written then) is caught up by the next
one.  A database failure ends the job with a ``fetch_error`` line, never the fetcher; so does
any failure while recording a failure.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from typing import Any

import asyncpg
import attrs
import trio

from vibed.logs import get_logger
from vibed.pipeline import fetch_state
from vibed.pipeline.health import ScopeHealth
from vibed.store import bucket, releases
from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.vocab.backoff import Backoff
from vibed.vocab.messages import Failure, FailureKind, FetchJob, Page, Release, WriteRequest, WriteResult

log = get_logger("vibed.fetcher")
WRITE_TIMEOUT = 60.0  # a writer that never answers: the page is fetched again next round
TOKEN_WAIT_MAX = 5.0  # wait this long for the next token; longer waits go to the next round
BOUNDARY_KNOWN = 3  # known items on a page that mark the boundary of what is stored: stop paging


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
    sources: Mapping[str, Any]
    health: ScopeHealth
    policy: BackoffPolicy = attrs.field(factory=BackoffPolicy)
    rng: random.Random = attrs.field(factory=random.Random)

    async def run(self, jobs: trio.MemoryReceiveChannel[FetchJob], pages: trio.MemorySendChannel[WriteRequest],
                  *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with jobs, pages:
            task_status.started()
            async for job in jobs:
                try:
                    await self.run_job(job, pages)
                except trio.BrokenResourceError:
                    return
                except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
                    # the database went away mid-run: the run's "resume" mark makes the next one catch up
                    log.warning("fetch_error", source=job.source, language=job.scope, kind="database",
                                detail=str(exc)[:200], retry_in=None)
                    if job.progress is not None:
                        job.progress.errors += 1
                finally:
                    if job.progress is not None:
                        job.progress.job_done()  # even on a crash, so the round can end

    async def run_job(self, job: FetchJob, pages: trio.MemorySendChannel[WriteRequest]) -> None:
        source = self.sources.get(job.source)
        if source is None or not source.available:
            return
        async with fetch_state.hold_run_lock(self.db, job.source, job.scope) as held:
            if not held:
                log.info("fetch_skipped", source=job.source, language=job.scope, reason="claimed_elsewhere")
                return
            if job.min_gap_s > 0:
                claimed = await fetch_state.claim_poll(self.db, job.source, job.scope, job.slot, job.min_gap_s)
            else:
                claimed = await fetch_state.claim(self.db, job.source, job.scope, job.slot)
            if claimed is None:
                log.info("fetch_skipped", source=job.source, language=job.scope,
                         reason="polled_recently" if job.min_gap_s > 0 else "fetched_this_round")
                return
            if claimed.backoff_s > 0:
                log.info("fetch_skipped", source=job.source, language=job.scope, reason="backing_off",
                         retry_in=round(claimed.backoff_s, 1))
                return
            log.info("fetch_started", source=job.source, language=job.scope, round_id=job.round_id,
                     slot=job.slot)
            pessimistic = max(job.max_pages, claimed.resume_pages)
            await fetch_state.set_resume(self.db, job.source, job.scope, pessimistic)
            # The run's pages are written together, once paging has stopped: written page by page,
            # page 1 (the newest) would take lower event ids than page 2, and a run cut short by a
            # crash would leave its older part behind the "nothing new" stop for good.
            collected: list[Release] = []
            seen: set[tuple[str, str]] = set()
            failure: Failure | None = None
            complete = False
            number = reached = 0
            # catching up after a cut-short run may take one page past the cap
            for number in range(1, max(job.max_pages, claimed.resume_pages) + 1):
                if not await self._take_token(job, source.service, number):
                    break
                if job.progress is not None:
                    job.progress.requests += 1
                log.debug("fetch_page_requested", source=job.source, language=job.scope, page=number)
                result = await self._fetch(source, job, number)
                if isinstance(result, Failure):
                    failure = result
                    break
                keys = [(r.source, r.external_id) for r in result.releases]
                unseen = [key for key in dict.fromkeys(keys) if key not in seen]
                stored = await releases.known(self.db, unseen)
                first_seen = sum(1 for key in unseen if key not in stored)
                seen.update(unseen)
                collected.extend(result.releases)
                reached = number
                self._succeeded(job, result, first_seen)
                if number == 1 and result.received == 0 and self.health.suspect(job.source, job.scope):
                    # since mid-2026 a blocked network gets empty pages, not errors: back off, say so
                    streak = self.health.records[(job.source, job.scope)].empty_streak
                    log.warning("fetch_suspect_empty", source=job.source, language=job.scope, empty_runs=streak)
                    failure = Failure(job.source, job.scope, 1, FailureKind.BLOCKED,
                                      f"page 1 came back empty {streak} runs in a row (blocked silently?)")
                    break
                # the page reaches what is known: what follows is older still (shuffling stays within a
                # page).  A stray known item or two may be an old release moved up, so it takes a few.
                known = len(unseen) - first_seen
                boundary = first_seen == 0 or known >= BOUNDARY_KNOWN
                # past a page an earlier, cut-short run stored, the boundary no longer means "done"
                if result.last_page or (boundary and number >= claimed.resume_pages):
                    complete = True
                    break
            if collected:
                whole = Page(job.source, job.scope, number, tuple(collected), last_page=complete)
                written = await self._write(whole, pages)
                if written.error is not None:
                    await self._failed(job, Failure(job.source, job.scope, number, FailureKind.UPSTREAM_ERROR,
                                                    f"not stored: {written.error}"), kind="store")
                    return
                if job.progress is not None:
                    job.progress.first_seen += written.first_seen
                    job.progress.events += written.events
            # cut short after storing new releases: older ones may sit on the next page, which a later
            # "nothing new" page 1 would never reach; the next run must page at least that far
            resume = 0 if complete else (reached + 1 if collected else claimed.resume_pages)
            if resume != pessimistic:
                await fetch_state.set_resume(self.db, job.source, job.scope, resume)
            if failure is not None:
                await self._failed(job, failure)
            elif complete:
                await fetch_state.record_success(self.db, job.source, job.scope)

    async def _fetch(self, source: Any, job: FetchJob, number: int) -> Page | Failure:
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
        if job.progress is not None:
            job.progress.errors += 1
        self.health.failed(job.source, job.scope, failure, delay)
        try:
            await fetch_state.record_failure(self.db, job.source, job.scope,
                                             f"{failure.kind.value}: {failure.detail}", delay)
        except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
            # the back-off is still kept in memory (health); never crash while handling a failure
            log.warning("fetch_failure_not_recorded", source=job.source, language=job.scope,
                        error=str(exc)[:200])
