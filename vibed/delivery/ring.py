"""The recent events, already encoded: what a reconnecting crowd is replayed from, without a query.

The hub appends every event it publishes with the frame it encoded once for the live clients
(``append_nowait``), and the sequencer fills the ring from the database when the daemon starts,
so the browsers that come back after a deploy with their ``Last-Event-ID`` are served from
memory.  The ring holds *every* event with an id in ``(floor, newest]``, in id order, bounded by
count and by bytes; evicting the oldest moves ``floor`` up.

``since(filter, last_id)`` answers "what matches after ``last_id``" when ``last_id`` is held,
else ``None`` (the caller asks the database).  A crowd asks the same question thousands of times
between two events: the replayer keeps the answers (``Replayer.plan_nowait``), not the ring.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

import attrs

from vibed.delivery.frames import Frame, event_frame
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

DEFAULT_EVENTS = 10_000
DEFAULT_BYTES = 32 << 20


@attrs.frozen
class Window:
    """The matching events after an id, with their frames and the bytes they take on the wire."""

    events: tuple[StoredEvent, ...]
    frames: tuple[Frame, ...]
    size: int  # bytes of the frames' bodies


NOTHING = Window((), (), 0)


@attrs.define(eq=False)
class RecentEvents:
    max_events: int = DEFAULT_EVENTS
    max_bytes: int = DEFAULT_BYTES
    floor: int = 0  # every event with an id above this is held (none below it is)
    newest: int = 0  # the last id appended: what the hub has published
    ready: bool = False  # loaded from the database: until then it vouches for no id
    _ids: list[int] = attrs.field(factory=list)
    _entries: list[tuple[StoredEvent, Frame]] = attrs.field(factory=list)
    _start: int = 0  # entries before it are evicted (compacted in bulk, not one pop(0) at a time)
    _bytes: int = 0

    def __len__(self) -> int:
        return len(self._ids) - self._start

    @property
    def bytes(self) -> int:
        return self._bytes

    def load_nowait(self, events: Iterable[StoredEvent], *, complete: bool) -> None:
        """Start from the newest stored events (oldest first); ``complete``: they are all there are."""
        events = list(events)
        self.ready = True
        for event in events:
            self.append_nowait(event, event_frame(event))
        if events and not complete:
            self.floor = max(self.floor, events[0].id - 1)  # ids below the first loaded may exist

    def append_nowait(self, event: StoredEvent, frame: Frame) -> None:
        if event.id <= self.newest:
            return  # the sequencer delivers each id once, in order; a reload must not double it
        self._ids.append(event.id)
        self._entries.append((event, frame))
        self._bytes += len(frame.body)
        self.newest = event.id
        while len(self) > self.max_events or (self._bytes > self.max_bytes and len(self) > 1):
            self._evict_oldest()

    def _evict_oldest(self) -> None:
        _event, frame = self._entries[self._start]
        self.floor = self._ids[self._start]
        self._bytes -= len(frame.body)
        self._start += 1
        if self._start > 1024 and self._start * 2 > len(self._ids):
            del self._ids[:self._start], self._entries[:self._start]
            self._start = 0

    def holds(self, last_id: int) -> bool:
        """True when ``last_id`` is the floor or an event in the ring (so every later one is here)."""
        if not self.ready:
            return False
        if last_id == self.floor:
            return True
        if not self.floor < last_id <= self.newest:
            return False
        at = bisect.bisect_left(self._ids, last_id, self._start)
        return at < len(self._ids) and self._ids[at] == last_id

    def covers(self, last_id: int) -> bool:
        """True when ``last_id`` lies in the window (held or not: a hole there is an unknown id)."""
        return self.ready and self.floor <= last_id <= self.newest

    def since(self, stream_filter: ReleaseFilter, last_id: int) -> Window | None:
        """The events after ``last_id`` that match, or None when ``last_id`` is not held."""
        if not self.holds(last_id):
            return None
        at = bisect.bisect_right(self._ids, last_id, self._start)
        matched = [(e, f) for e, f in self._entries[at:] if stream_filter.matches(e)]
        if not matched:
            return NOTHING
        return Window(tuple(e for e, _ in matched), tuple(f for _, f in matched),
                      sum(len(f.body) for _, f in matched))
