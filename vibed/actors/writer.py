"""The writer: batches pages into one transaction and passes the stored events on.

In: ``WriteRequest`` (a page plus a reply channel).  Out: ``tuple[StoredEvent, ...]`` per
committed batch, to the broadcaster.  Ends when the page channel ends.

It takes the first request, then whatever else is already waiting (up to ``max_batch``), so
under load several fetchers' pages share one commit.  A database error fails the batch as a
whole — nothing of it is stored — and every requester hears so; the pages are fetched again
in a later round.  It never crashes on a database outage.
"""

from __future__ import annotations

import asyncpg
import attrs
import trio

from vibed.logs import get_logger
from vibed.messages import StoredEvent, WriteRequest, WriteResult
from vibed.store.postgres import Database
from vibed.store.releases import write_batch

log = get_logger("vibed.writer")


@attrs.define(eq=False)
class Writer:
    db: Database
    window_days: int = 7
    max_batch: int = 16
    batches: int = 0
    stored_events: int = 0

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
            result = await self.db.run(write_batch, self.db.pool, releases, self.window_days)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:200]
            log.error("store_error", pages=len(batch), releases=len(releases), error=error)
            for request in batch:
                _answer(request, WriteResult(0, 0, error))
            return ()
        self.batches += 1
        self.stored_events += len(result.events)
        for request in batch:
            keys = {(r.source, r.external_id) for r in request.page.releases}
            first_seen = sum(1 for key in keys if result.first_seen.get(key))
            events = sum(1 for e in result.events
                         if (e.source, e.payload.get("external_id")) in keys)
            _answer(request, WriteResult(first_seen, events))
        return result.events


def _answer(request: WriteRequest, result: WriteResult) -> None:
    try:
        request.reply.send_nowait(result)
    except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
        pass  # the fetcher gave up waiting; its page is fetched again next round
