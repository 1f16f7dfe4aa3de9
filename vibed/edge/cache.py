"""Answers the edge holds: hot, cacheable GETs served without running the app.

The app marks an answer cacheable with the internal header ``x-vibed-edge-cache`` (stripped
before anything leaves); its promise is that the answer depends only on the request target.
An entry is served while it is younger than ``ttl`` *and* no event was delivered since it was
rendered: ``generation`` is the hub's last delivered event id, which moves with every new
release, local or from another instance, so a new release is never hidden behind the cache.
The TTL bounds what events do not announce (a re-seen release's changed fields).

A key is filled once for a burst (single flight): the first request runs the app, the others
wait for its answer; that is what keeps 10,000 browsers loading the page at once from running
the app 10,000 times.  An entry that only grew old (no new event) is still served while its
refill runs, so a hot target never makes its readers wait on the TTL; the first request to find it
old begins that refill at once (``claim_nowait``), so the rest of a crowd is answered without a task.  A target whose answer turns out not to be cacheable is remembered as
such for ``ttl`` (a "pass" entry), so its requests go straight to the app, side by side.
An entry keeps its answer once, and each content coding of it once made (``variants``,
vibed/edge/encoding.py): a hot target is compressed once per coding per fill, not per request.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

import attrs
import trio

from vibed.edge.encoding import Variants
from vibed.edge.respond import Answer
from vibed.vocab.edge_keys import EDGE_CACHE

MARK = EDGE_CACHE.encode()


@attrs.frozen
class Entry:
    answer: Answer | None  # as it leaves, internal headers removed; None = "not cacheable, pass"
    route: str  # the app's route, for the per-route metrics
    generation: int
    born: float
    variants: Variants = attrs.field(factory=dict, eq=False)  # its encodings, each made on first use (encoding.py)


@attrs.frozen
class Held:
    """A hit: the answer as it leaves, the app's route it came from, and the entry's encodings."""

    answer: Answer
    route: str
    variants: Variants | None = attrs.field(default=None, eq=False)


@attrs.frozen
class Fill:
    key: bytes
    generation: int
    waiters: trio.Event | None  # set when this fill is the single flight others wait for


@attrs.frozen
class EdgeCacheStatistics:
    entries: int
    hits: int
    misses: int


@attrs.define(eq=False)
class EdgeCache:
    generation: Callable[[], int]
    ttl: float = 2.0
    max_entries: int = 1024
    enabled: bool = True  # off: every request runs the app (tests and the benchmark's baseline)
    hits: int = 0
    misses: int = 0
    _entries: OrderedDict[bytes, Entry] = attrs.field(factory=OrderedDict)
    _filling: dict[bytes, trio.Event] = attrs.field(factory=dict)

    def statistics(self) -> EdgeCacheStatistics:
        return EdgeCacheStatistics(len(self._entries), self.hits, self.misses)

    def peek(self, key: bytes) -> Entry | None:
        """The entry held for ``key``, fresh or not, without counting or reordering (tests, debugging)."""
        return self._entries.get(key)

    def _fresh(self, key: bytes) -> Entry | None:
        entry = self._entries.get(key)
        if entry is None or entry.generation != self.generation() or trio.current_time() - entry.born > self.ttl:
            return None
        self._entries.move_to_end(key)
        return entry

    def lookup_nowait(self, key: bytes) -> Held | None:
        """The held answer if it can be served now; None, with nothing counted, otherwise (``lookup``)."""
        if not self.enabled:
            return None
        entry = self._fresh(key)
        if entry is not None and entry.answer is not None:
            self.hits += 1
            return Held(entry.answer, entry.route, entry.variants)
        if key in self._filling:
            stale = self._entries.get(key)
            if stale is not None and stale.answer is not None and stale.generation == self.generation():
                # only its age ended it, and its refill is under way: this request need not wait
                self.hits += 1
                return Held(stale.answer, stale.route, stale.variants)
        return None

    async def lookup(self, key: bytes) -> Held | None:
        """The held answer; or None, and the caller runs the app (``begin_fill``…``end_fill``)."""
        while self.enabled:
            held = self.lookup_nowait(key)
            if held is not None:
                return held
            filling = self._filling.get(key)
            if filling is None or self._fresh(key) is not None:  # nobody is filling it, or a pass
                self.misses += 1
                return None
            await filling.wait()  # a new event ended it: wait for the answer that includes it
        return None

    def claim_nowait(self, key: bytes) -> Fill | None:
        """After a missed ``lookup_nowait``: the refill of an entry that only its age ended, begun
        now by the caller (who runs the app and ends it on every path, ``abandon_fill`` at least);
        None when there is no such entry or its refill is under way.  A crowd arriving as the TTL
        ends is then served the held answer at once, all but one, instead of each request waiting
        for a task to find the refill begun."""
        if not self.enabled or key in self._filling:
            return None
        stale = self._entries.get(key)
        if stale is None or stale.answer is None or stale.generation != self.generation():
            return None
        self.misses += 1  # as ``lookup`` counts the request that goes on to run the app
        return self.begin_fill(key)

    def abandon_fill(self, fill: Fill) -> None:
        """End ``fill`` with nothing held if it is still under way (the app was not asked, or failed)."""
        if fill.waiters is not None and self._filling.get(fill.key) is fill.waiters:
            self.end_fill(fill, None, False)

    def begin_fill(self, key: bytes) -> Fill:
        """Right after a missed ``lookup``, before running the app.  The generation is read
        *before* the query, so an event that lands during it makes the entry stale at once."""
        waiters = None
        if self.enabled and key not in self._filling and self._fresh(key) is None:
            waiters = self._filling[key] = trio.Event()  # the others wait for this one
        return Fill(key, self.generation(), waiters)

    def end_fill(self, fill: Fill, answer: Answer | None, cacheable: bool, route: str = "") -> Variants | None:
        """After the app answered: ``answer`` may be held when ``cacheable``; a complete answer that
        may not be held leaves a pass; ``answer`` None (the app failed) leaves nothing.  Returns the
        held entry's encodings, for the answer to this very request to be made into them."""
        variants = None
        if answer is not None and self.enabled:
            entry = Entry(answer if cacheable else None, route, fill.generation, trio.current_time())
            variants = entry.variants if cacheable else None
            self._entries[fill.key] = entry
            self._entries.move_to_end(fill.key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        if fill.waiters is not None:
            del self._filling[fill.key]
            fill.waiters.set()
        return variants
