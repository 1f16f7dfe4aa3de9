"""Each event id reaches the hub once, in id order, whichever path brought it.

Events arrive from the local writer, from Redis (other instances, and our own echo) and from
the database poll while Redis is down, in any order and with duplicates.  The sequencer keeps
``last_id``: an id at or below it is dropped; an id beyond ``last_id + 1`` first pulls the gap
from the database.  That is safe because writers serialise on an advisory lock, so when id N
is visible every smaller id is committed (or rolled back for good, a hole that stays a hole).
"""

from __future__ import annotations

from collections.abc import Iterable

import attrs
import trio

from vibed.delivery.hub import Hub
from vibed.logs import get_logger
from vibed.store import events as store_events
from vibed.store.postgres import Database
from vibed.vocab.messages import StoredEvent

log = get_logger("vibed.delivery")
GAP_PAGE = 5000  # rows per gap-fill query: a long outage is caught up in pages, never in one read


@attrs.define(eq=False)
class Sequencer:
    hub: Hub
    db: Database
    last_id: int = 0
    _lock: trio.Lock = attrs.field(factory=trio.Lock)

    async def start_after_newest(self) -> None:
        """Begin after the newest stored event: older ones are the replay's business.  The hub's
        ring of recent events is filled from the same read, so a crowd that reconnects after a
        restart is replayed from memory."""
        ring = self.hub.ring
        limit = max(ring.max_events, 1)  # one row at least: the newest id is where delivery starts
        newest = await self.db.run(store_events.newest_events, self.db.pool, limit)
        ring.load_nowait(newest, complete=len(newest) < limit)
        self.last_id = ring.newest  # one read: the ring holds every id up to it

    async def deliver(self, events: Iterable[StoredEvent]) -> None:
        # one delivery at a time: a gap fill awaits the database and must not be overtaken
        async with self._lock:
            for event in sorted(events, key=lambda e: e.id):
                if event.id <= self.last_id:
                    continue
                while event.id > self.last_id + 1:
                    gap = await self.db.run(store_events.events_between, self.db.pool, self.last_id,
                                            event.id - 1, GAP_PAGE)
                    if not gap:
                        break  # a hole in the sequence (a rolled-back transaction)
                    self._publish(gap)
                    if len(gap) < GAP_PAGE:
                        break
                self._publish((event,))

    async def catch_up(self) -> None:
        """Deliver whatever the database holds beyond ``last_id`` (Redis down, or just back)."""
        while True:
            async with self._lock:
                newer = await self.db.run(store_events.events_after, self.db.pool, self.last_id, GAP_PAGE)
                self._publish(newer)
            if len(newer) < GAP_PAGE:
                return

    async def serve_sweeping(self, interval: float, *,
                             task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Every ``interval`` seconds, deliver what the database holds beyond ``last_id``.  A safety
        net: when the database dies at a writer's commit, the commit may stand while the writer
        never hears of it, and nothing would announce those events before the next one.  The
        recent-events ring must hold them too, or a reconnecting client's replay would skip them.
        One indexed query per interval; a database that is down is tried again next time."""
        task_status.started()
        while True:
            await trio.sleep(interval)
            try:
                await self.catch_up()
            except OSError as exc:  # DatabaseUnavailable: the next sweep tries again
                log.debug("sweep_failed", error=str(exc)[:200])

    def _publish(self, events: Iterable[StoredEvent]) -> None:
        fresh = [e for e in events if e.id > self.last_id]
        if fresh:
            self.last_id = fresh[-1].id
            self.hub.publish_nowait(fresh)
