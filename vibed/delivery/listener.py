"""A WebSocket client's subscription as the hub holds it: a filter and a bounded channel.

WebSocket clients are few, so each has a task that drains the channel; the hub only ever
``send_nowait``s, and a full channel means the client is too slow: the hub ends it.  A new filter
(the watch it follows was edited) travels in the same channel as a ``Refiltered``, so the client's
``subscribed`` message comes in order with the events: those after it obey the new filter.
"""

from __future__ import annotations

import attrs
import trio

from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter


@attrs.frozen
class Refiltered:
    """The subscription's filter became ``filter`` when the newest event published was ``last_event_id``."""

    filter: ReleaseFilter
    last_event_id: int


@attrs.define(eq=False)
class Listener:
    """A WebSocket client's subscription: events go into ``send`` (bounded); overflow closes it."""

    filter: ReleaseFilter
    send: trio.MemorySendChannel[StoredEvent | Refiltered]
    floor: int = 0
    ended: str | None = None  # why the hub closed ``send``: "slow", "shutdown" or "watch_deleted"
    watch: str | None = None  # the watch its filter came from (the hub applies the watch's changes)
    asked_at: float = 0.0  # when that watch was read for it (``StreamRequest.asked_at``)

    def offer(self, event: StoredEvent) -> bool:
        if event.id <= self.floor:
            return True
        try:
            self.send.send_nowait(event)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True

    def refilter(self, flt: ReleaseFilter, newest: int) -> bool:
        """From the next event on, ``flt``; the client is told after the events already queued.
        False: the channel is full (the client is too slow) or closed."""
        self.filter = flt
        try:
            self.send.send_nowait(Refiltered(flt, newest))
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            return False
        return True
