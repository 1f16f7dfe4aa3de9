"""A backfill: walk a source's listing to older pages until a window of days is covered.

Each page costs one token of the same bucket the daemon spends, and the walk never makes more
than ``share`` requests.  A page is stored (deduplicated, *without* an event: history, not news)
and then the position is saved, so a run stopped at any point resumes at the first page it did
not store.  It ends when the oldest release reached is older than the window (``covered``),
upstream has no older page (``exhausted``), the share is spent (``budget_spent``), the bucket
refuses (``bucket_empty``), upstream fails (``upstream_error``) or it is asked to stop
(``interrupted``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial

import attrs
import trio

from vibed.pipeline import backfill_state
from vibed.pipeline.backfill_state import BackfillState
from vibed.store import bucket, releases
from vibed.store.postgres import Database
from vibed.vocab.messages import Failure, FailureKind, Page
from vibed.vocab.source import Source


@attrs.frozen
class PageDone:
    """One stored page, for the progress display."""

    page: int
    count: int  # items upstream sent
    kept: int  # releases after normalisation
    new: int  # releases the database did not have
    oldest: dt.date | None  # the oldest release date reached so far
    requests: int  # requests made by this run
    share: int
    covered_days: int  # days of the window covered so far
    days: int


@attrs.frozen
class Outcome:
    reason: str
    requests: int
    pages: int
    new: int
    state: BackfillState
    detail: str | None = None


def _covered(oldest: dt.date | None, today: dt.date, days: int) -> int:
    return 0 if oldest is None else max(0, min(days, (today - oldest).days))


async def walk(db: Database, source: Source, scope: str, *, days: int, share: int, stop: trio.Event,
               on_page: Callable[[PageDone], None], today: dt.date) -> Outcome:
    """Walk from where the last run stopped; return why this run ended."""
    state = await backfill_state.load(db, source.name, scope)
    cutoff = today - dt.timedelta(days=days)
    requests = pages = new = 0

    def ended(reason: str, detail: str | None = None) -> Outcome:
        return Outcome(reason, requests, pages, new, state, detail)

    while True:
        if state.exhausted:
            return ended("exhausted")
        if state.oldest is not None and state.oldest < cutoff:
            return ended("covered")
        if stop.is_set():
            return ended("interrupted")
        if requests >= share:
            return ended("budget_spent")
        grant = await bucket.take(db, source.service)
        if not grant.granted:
            return ended("bucket_empty")
        requests += 1
        number = state.next_page
        try:
            result = await source.fetch_page(scope, number)
        except Exception as exc:  # noqa: BLE001 - an answer the parser chokes on ends the run, resumable
            result = Failure(source.name, scope, number, FailureKind.UPSTREAM_ERROR,
                             f"could not read the answer: {type(exc).__name__}: {str(exc)[:120]}")
        if isinstance(result, Failure):
            await backfill_state.save(db, source.name, scope, attrs.evolve(state, requests=state.requests + 1))
            return ended("upstream_error", f"{result.kind.value}: {result.detail}")
        page: Page = result
        written = await db.run(partial(releases.write_batch, announce=False), db.pool, page.releases, 0)
        dates = [r.release_date for r in page.releases if r.release_date is not None]
        oldest = min([*dates, *([state.oldest] if state.oldest else [])], default=None)
        state = BackfillState(next_page=number + 1, oldest=oldest, exhausted=page.last_page or not page.releases,
                              requests=state.requests + 1)
        await backfill_state.save(db, source.name, scope, state)
        stored_new = sum(1 for first in written.first_seen.values() if first)
        pages += 1
        new += stored_new
        on_page(PageDone(number, page.received or len(page.releases), len(page.releases), stored_new, oldest,
                         requests, share, _covered(oldest, today, days), days))
