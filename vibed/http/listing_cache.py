"""A short-lived cache of rendered listing pages, with single-flight fills.

A page is served from memory while it is younger than ``ttl`` *and* no event was delivered since it
was rendered (``generation`` is the hub's last delivered event id, which moves with every new
release, local or from another instance).  So a new release is never hidden behind the cache,
and a burst of identical requests costs one query, not one each.  The TTL bounds what events do
not announce (a re-seen release's changed fields), well inside the ``max-age=5`` we advertise.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable

import attrs
import trio


@attrs.frozen
class Rendered:
    body: bytes
    etag: str
    generation: int
    born: float


@attrs.define(eq=False)
class ListingCache:
    ttl: float = 2.0
    max_entries: int = 1024
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[str, Rendered] = attrs.field(factory=OrderedDict)
    _filling: dict[str, trio.Event] = attrs.field(factory=dict)

    def _fresh(self, key: str, generation: int) -> Rendered | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != generation or trio.current_time() - entry.born > self.ttl:
            return None
        self._entries.move_to_end(key)
        return entry

    async def get(self, key: str, generation: Callable[[], int],
                  render: Callable[[], Awaitable[tuple[bytes, str]]]) -> Rendered:
        while True:
            entry = self._fresh(key, generation())
            if entry is not None:
                self.hits += 1
                return entry
            filling = self._filling.get(key)
            if filling is None:
                break
            await filling.wait()  # someone is rendering this very page: share their result
        self.misses += 1
        done = self._filling[key] = trio.Event()
        try:
            gen = generation()  # read before the query: an event during it makes the entry stale
            body, etag = await render()
            entry = Rendered(body, etag, gen, trio.current_time())
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
            return entry
        finally:
            del self._filling[key]
            done.set()
