"""A watch's changes reach the streams already open on it, on every instance.

    changes = WatchChanges(hub, resolve, announce=feed.publish_watch_nowait)
    await changes.changed(watch_id)   # after a PATCH or DELETE committed: when it returns, this
                                      # instance's streams on the watch hold its new filter (or ended);
                                      # ``announce`` tells the other instances, which ``apply`` it
    await changes.apply(watch_id)     # a notice from another instance
    await changes.resync()            # the bus (re)subscribed: notices may have been lost meanwhile

Only the id travels: each instance reads the watch itself (the database is the truth, so a notice
that comes twice or late reads the same answer).  Applies run one at a time, each reading after the
one before, so two quick edits never leave the older filter in place.  An instance with no stream on
the watch reads nothing.  When the read fails (the database is down) the streams keep the filter they
hold; the next change, or their reconnection, brings them up to date.

A stream that connects while the watch changes may have read it just before the change and join the
hub just after it was applied.  So the time each change is heard is kept for a while, and a stream
that joins with a read begun before the last change heard of its watch has that change applied again
(``joined_nowait``, by the ``serve`` task).

A notice can be lost: the bus carries it at most once, and not at all while Redis is down or while an
instance's subscription is being re-opened.  So each time an instance's subscription opens, ``resync``
re-reads every watch its streams follow, in one query, and applies what changed (a stream that holds
its watch's filter already is left alone) and what was deleted, as if the notices had come.  A stream
whose read began before a resync and joins after it has its watch applied again, like a late joiner.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import attrs
import trio

from vibed.delivery.client import SocketClient
from vibed.delivery.filters import WatchesResolver, WatchResolver
from vibed.delivery.hub import Hub
from vibed.delivery.listener import Listener
from vibed.logs import get_logger

log = get_logger("vibed.delivery")
HEARD_FOR = 60.0  # seconds a change is remembered: far beyond any lookup (database calls have deadlines)
HEARD_MOST = 4096  # past this many remembered, those older than HEARD_FOR are forgotten


@attrs.define(eq=False)
class WatchChanges:
    hub: Hub
    resolve: WatchResolver  # the store's own read, never a lookup shared with streams (it may predate the change)
    announce: Callable[[str], None] | None = None  # the bus to the other instances (None: no other)
    resolve_all: WatchesResolver = attrs.field(kw_only=True)  # the store's read of many, for ``resync``
    reached: int = 0  # streams given a new filter or ended, since start
    resyncs: int = 0  # resyncs that read the store (each one query, whatever the number of watches)
    _resynced_at: float = -math.inf  # when the last resync began its read (trio clock)
    _lock: trio.Lock = attrs.field(factory=trio.Lock)
    _heard: dict[str, float] = attrs.field(factory=dict)  # watch id -> when its last change was heard
    _late: tuple[trio.MemorySendChannel[str], trio.MemoryReceiveChannel[str]] = attrs.field(
        factory=lambda: trio.open_memory_channel[str](1024))  # streams' watches to apply again

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Applies again what ``joined_nowait`` asks, until cancelled."""
        task_status.started()
        async for watch_id in self._late[1]:
            await self.apply(watch_id)

    def joined_nowait(self, stream: SocketClient | Listener) -> None:
        """The hub took a stream on a watch: if a change of it was heard after its read began, the
        read may predate the change, and the change is applied again."""
        heard = max(self._heard.get(stream.watch, self._resynced_at), self._resynced_at) \
            if stream.watch is not None else None
        if heard is not None and stream.watch is not None and heard >= stream.asked_at:
            try:
                self._late[0].send_nowait(stream.watch)
            except trio.WouldBlock:  # a thousand waiting: that stream's reconnection brings it up to date
                log.warning("watch_change_dropped", reason="too many streams joined during changes")

    async def changed(self, watch_id: str) -> None:
        """Watch ``watch_id`` was changed or deleted (committed): every instance applies it."""
        if self.announce is not None:
            self.announce(watch_id)
        await self.apply(watch_id)

    async def apply(self, watch_id: str) -> None:
        """This instance's streams on ``watch_id`` take its filter as stored now (none: they end)."""
        now = trio.current_time()
        if len(self._heard) >= HEARD_MOST:
            self._heard = {k: t for k, t in self._heard.items() if now - t < HEARD_FOR}
        self._heard[watch_id] = now
        async with self._lock:
            if not self.hub.watching(watch_id):
                return
            try:
                found = await self.resolve(watch_id)
            except OSError as exc:  # DatabaseUnavailable: the streams keep what they hold
                log.warning("watch_change_unread", error=str(exc)[:200])
                return
            reached = self.hub.rewatch_nowait(watch_id, found)
            self.reached += reached
            log.info("watch_change_applied", streams=reached, deleted=found is None)  # the id is a capability

    async def resync(self) -> None:
        """Every watch this instance's streams follow, read again in one query and applied where it
        changed or was deleted.  Raises what the read raises (``DatabaseUnavailable``): the bus then
        re-subscribes, and resyncs again."""
        async with self._lock:
            self._resynced_at = trio.current_time()  # before the read: a stream joining later may predate it
            ids = self.hub.watched()
            if not ids:
                return
            found = await self.resolve_all(ids)
            self.resyncs += 1
            reached = sum(self.hub.rewatch_nowait(watch_id, found.get(watch_id)) for watch_id in ids)
            self.reached += reached
            log.info("watch_resync_applied", watches=len(ids), streams=reached)
