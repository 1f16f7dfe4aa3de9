"""Watch lookups for the streams, single-flight: a crowd that connects with one ``?watch=`` at once
(every browser of a shared watch after a deploy) costs one database query, not one per stream.

Nothing is remembered after a lookup ends: a stream that connects after an edit reads the edit (an
open stream hears of later edits from ``watch_changes.py``, which reads the store itself).  A stream that joins a lookup in
flight gets that lookup's answer — read at most one query's time before it connected.  When the
lookup that others wait on fails or is cancelled (its client left), one of them asks again.
"""

from __future__ import annotations

import attrs
import trio

from vibed.delivery.filters import WatchResolver
from vibed.vocab.release_filter import ReleaseFilter


@attrs.define(eq=False)
class _Flight:
    done: trio.Event = attrs.field(factory=trio.Event)
    answered: bool = False
    found: ReleaseFilter | None = None


@attrs.define(eq=False)
class WatchLookups:
    """A ``WatchResolver`` in front of another: concurrent lookups of one id share one."""

    resolve: WatchResolver
    queries: int = 0  # lookups that asked ``resolve``
    joined: int = 0  # lookups answered by another's
    _flights: dict[str, _Flight] = attrs.field(factory=dict)

    async def __call__(self, watch_id: str) -> ReleaseFilter | None:
        while (flight := self._flights.get(watch_id)) is not None:
            await flight.done.wait()
            if flight.answered:
                self.joined += 1
                return flight.found
        flight = self._flights[watch_id] = _Flight()
        try:
            self.queries += 1
            flight.found = await self.resolve(watch_id)
            flight.answered = True
            return flight.found
        finally:
            del self._flights[watch_id]
            flight.done.set()
