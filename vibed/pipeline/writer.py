"""The writer: batches pages into one transaction and passes the stored events on.

In: ``WriteRequest`` (a page plus a reply channel).  Out: ``tuple[StoredEvent, ...]`` per
committed batch, to the broadcaster.  Ends when the page channel ends.

It takes the first request, then whatever else is already waiting (up to ``max_batch``), so
under load several fetchers' pages share one commit.  When the database is unavailable the
batch fails as a whole — nothing of it is stored — and every requester hears so; the pages
are fetched again in a later round.  "Unavailable" includes an error that means "not now" (a
lock timeout, a deadlock, a serialization failure: ``failures.is_transient``).  When the batch
fails for any other reason (one item the database refuses), it is retried release by release: a poisoned release is logged
(``release_skipped``) and skipped, the rest are stored.  It never crashes on either.
"""

from __future__ import annotations

import asyncpg
import attrs
import trio

from vibed.logs import get_logger
from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.store.releases import BatchResult, write_batch
from vibed.vocab.messages import Release, ReleaseKey, StoredEvent, WriteRequest, WriteResult

log = get_logger("vibed.writer")


@attrs.define(eq=False)
class Writer:
    db: Database
    window_days: int = 7
    max_batch: int = 16
    batches: int = 0
    stored_events: int = 0  # events committed (and passed on)
    first_seen_total: int = 0  # releases the database did not have before (vibed_releases_stored_total)

    async def run(self, inbox: trio.MemoryReceiveChannel[WriteRequest],
                  outbox: trio.MemorySendChannel[tuple[StoredEvent, ...]],
                  *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with inbox, outbox:
            task_status.started()
            async for first in inbox:
                batch = [first]
                while len(batch) < self.max_batch:
                    try:
                        batch.append(inbox.receive_nowait())
                    except (trio.WouldBlock, trio.EndOfChannel):
                        break
                events = await self.write(batch)
                if events:
                    try:
                        await outbox.send(events)
                    except trio.BrokenResourceError:
                        return
                    log.info("new_songs_published", count=len(events), first_id=events[0].id,
                             last_id=events[-1].id)

    async def write(self, batch: list[WriteRequest]) -> tuple[StoredEvent, ...]:
        releases = [release for request in batch for release in request.page.releases]
        try:
            try:
                result = await self.db.run(write_batch, self.db.pool, releases, self.window_days)
            except (DatabaseUnavailable, TimeoutError):
                raise
            except Exception as exc:  # noqa: BLE001 - a refused item must not fail the other items
                log.warning("store_batch_retried", releases=len(releases), error=_one_line(exc))
                result = await self._one_by_one(releases)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            error = _one_line(exc)
            log.error("store_error", pages=len(batch), releases=len(releases), error=error)
            for request in batch:
                _answer(request, WriteResult(0, 0, error))
            return ()
        self.batches += 1
        self.stored_events += len(result.events)
        self.first_seen_total += sum(1 for new in result.first_seen.values() if new)
        for request in batch:
            keys = {(r.source, r.external_id) for r in request.page.releases}
            first_seen = sum(1 for key in keys if result.first_seen.get(key))
            events = sum(1 for e in result.events
                         if (e.source, e.payload.get("external_id")) in keys)
            _answer(request, WriteResult(first_seen, events))
        return result.events


    async def _one_by_one(self, releases: list[Release]) -> BatchResult:
        """Each release in its own transaction; the ones the database refuses are skipped."""
        first_seen: dict[ReleaseKey, bool] = {}
        events: list[StoredEvent] = []
        for release in releases:
            try:
                one = await self.db.run(write_batch, self.db.pool, [release], self.window_days)
            except (DatabaseUnavailable, TimeoutError):
                raise  # an outage now fails what is left, as for a whole batch
            except Exception as exc:  # noqa: BLE001 - the poisoned item is the one thing to lose
                log.error("release_skipped", source=release.source, external_id=release.external_id[:80],
                          error=_one_line(exc))
                continue
            first_seen.update(one.first_seen)
            events.extend(one.events)
        return BatchResult(first_seen, tuple(sorted(events, key=lambda e: e.id)))


def _one_line(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200]


def _answer(request: WriteRequest, result: WriteResult) -> None:
    try:
        request.reply.send_nowait(result)
    except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the fetcher gave up waiting; its page is fetched again next round
