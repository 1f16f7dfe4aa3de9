"""The listing cache: one render for a burst, a new event id or the TTL ends an entry, bounded size."""

from __future__ import annotations

import trio

from vibed.http.listing_cache import ListingCache


class Renderer:
    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self) -> tuple[bytes, str]:
        self.calls += 1
        await trio.sleep(0.5)  # a query in flight while the others arrive
        return f"body {self.calls}".encode(), f'"{self.calls}"'


async def test_a_burst_of_identical_requests_renders_once(autojump_clock):
    cache, render = ListingCache(ttl=2.0), Renderer()
    got: list[bytes] = []

    async def one() -> None:
        got.append((await cache.get("q", lambda: 7, render)).body)

    async with trio.open_nursery() as nursery:
        for _ in range(20):
            nursery.start_soon(one)
    assert render.calls == 1 and got == [b"body 1"] * 20
    assert (cache.hits, cache.misses) == (19, 1)


async def test_a_new_event_id_ends_the_entry_at_once(autojump_clock):
    cache, render = ListingCache(ttl=60.0), Renderer()
    generation = [1]
    assert (await cache.get("q", lambda: generation[0], render)).body == b"body 1"
    assert (await cache.get("q", lambda: generation[0], render)).body == b"body 1"
    generation[0] = 2  # a release was stored and delivered
    assert (await cache.get("q", lambda: generation[0], render)).body == b"body 2"


async def test_an_event_during_the_render_leaves_the_entry_stale(autojump_clock):
    cache = ListingCache(ttl=60.0)
    generation = [1]

    async def render_while_an_event_lands() -> tuple[bytes, str]:
        generation[0] = 2  # the query may or may not have seen it: do not trust this page
        return b"maybe stale", '"x"'

    await cache.get("q", lambda: generation[0], render_while_an_event_lands)
    render = Renderer()
    assert (await cache.get("q", lambda: generation[0], render)).body == b"body 1"


async def test_the_ttl_ends_an_entry(autojump_clock):
    cache, render = ListingCache(ttl=2.0), Renderer()
    await cache.get("q", lambda: 1, render)
    await trio.sleep(1.0)
    await cache.get("q", lambda: 1, render)
    assert render.calls == 1
    await trio.sleep(2.0)
    await cache.get("q", lambda: 1, render)
    assert render.calls == 2


async def test_size_is_bounded_least_recently_used_first(autojump_clock):
    cache, render = ListingCache(ttl=60.0, max_entries=3), Renderer()
    for key in "abcd":
        await cache.get(key, lambda: 1, render)
    assert render.calls == 4
    await cache.get("a", lambda: 1, render)  # "a" was evicted
    assert render.calls == 5
    await cache.get("d", lambda: 1, render)  # "d" was kept
    assert render.calls == 5
