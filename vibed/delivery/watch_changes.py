"""A watch's changes reach the streams already open on it, on every instance.

    changes = WatchChanges(hub, resolve, announce=feed.publish_watch_nowait)
    await changes.changed(watch_id)   # after a PATCH or DELETE committed: when it returns, this
                                      # instance's streams on the watch hold its new filter (or ended);
                                      # ``announce`` tells the other instances, which ``apply`` it
    await changes.apply(watch_id)     # a notice from another instance

Only the id travels: each instance reads the watch itself (the database is the truth, so a notice
that comes twice or late reads the same answer).  Applies run one at a time, each reading after the
one before, so two quick edits never leave the older filter in place.  An instance with no stream on
the watch reads nothing.  When the read fails (the database is down) the streams keep the filter they
hold; the next change, or their reconnection, brings them up to date.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs
import trio

from vibed.delivery.filters import WatchResolver
from vibed.delivery.hub import Hub
from vibed.logs import get_logger

log = get_logger("vibed.delivery")


@attrs.define(eq=False)
class WatchChanges:
    hub: Hub
    resolve: WatchResolver  # the store's own read, never a lookup shared with streams (it may predate the change)
    announce: Callable[[str], None] | None = None  # the bus to the other instances (None: no other)
    reached: int = 0  # streams given a new filter or ended, since start
    _lock: trio.Lock = attrs.field(factory=trio.Lock)

    async def changed(self, watch_id: str) -> None:
        """Watch ``watch_id`` was changed or deleted (committed): every instance applies it."""
        if self.announce is not None:
            self.announce(watch_id)
        await self.apply(watch_id)

    async def apply(self, watch_id: str) -> None:
        """This instance's streams on ``watch_id`` take its filter as stored now (none: they end)."""
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
