"""The edge cache: one app run for a burst, a new event id or the TTL ends an entry, bounded size;
and on real sockets, a held answer is served without the app until an event is delivered."""

from __future__ import annotations

import trio

from tests.http_wire import raw_clients, read_responses, request
from tests.stream_support import open_gateway, release, store
from vibed.edge.cache import EdgeCache
from vibed.edge.respond import Answer

KEY = b"/api/new-releases?language=ml"


class App:
    """Stands in for the app: each run takes 0.5 s and gives a new body."""

    def __init__(self, cache: EdgeCache) -> None:
        self.cache = cache
        self.runs = 0

    async def get(self, key: bytes = KEY) -> bytes:
        entry = await self.cache.lookup(key)
        if entry is not None:
            return entry.answer.body
        fill = self.cache.begin_fill(key)
        self.runs += 1
        await trio.sleep(0.5)  # the query in flight while others arrive
        answer = Answer(200, (), b"body %d" % self.runs)
        self.cache.end_fill(fill, answer, True, "/r")
        return answer.body


async def burst(app: App, n: int = 20) -> list[bytes]:
    got: list[bytes] = []

    async def one() -> None:
        got.append(await app.get())

    async with trio.open_nursery() as nursery:
        for _ in range(n):
            nursery.start_soon(one)
    return got


async def test_a_burst_runs_the_app_once_cold_and_once_after_each_event(autojump_clock):
    generation = [1]
    cache = EdgeCache(lambda: generation[0], ttl=60.0)
    app = App(cache)
    assert await burst(app) == [b"body 1"] * 20 and app.runs == 1  # 10,000 browsers loading the page
    generation[0] = 2  # a release was delivered: the entry is stale, and a burst arrives
    assert await burst(app) == [b"body 2"] * 20 and app.runs == 2


async def test_an_answer_that_may_not_be_held_is_a_pass_and_its_requests_run_side_by_side(autojump_clock):
    cache = EdgeCache(lambda: 1, ttl=60.0)
    running, most = [0], [0]

    async def get() -> None:
        assert await cache.lookup(KEY) is None
        fill = cache.begin_fill(KEY)
        running[0] += 1
        most[0] = max(most[0], running[0])
        await trio.sleep(0.5)
        running[0] -= 1
        cache.end_fill(fill, Answer(200, (), b"health"), False, "/api/health")

    await get()  # the first answer tells the cache: not cacheable
    async with trio.open_nursery() as nursery:
        for _ in range(10):
            nursery.start_soon(get)
    assert most[0] == 10


async def test_a_new_event_id_ends_the_entry_at_once(autojump_clock):
    generation = [1]
    app = App(EdgeCache(lambda: generation[0], ttl=60.0))
    assert await app.get() == b"body 1"
    assert await app.get() == b"body 1"
    generation[0] = 2
    assert await app.get() == b"body 2"


async def test_an_event_during_the_app_run_leaves_the_entry_stale(autojump_clock):
    generation = [1]
    cache = EdgeCache(lambda: generation[0], ttl=60.0)
    fill = cache.begin_fill(KEY)
    generation[0] = 2  # the query may or may not have seen it: do not trust this answer
    cache.end_fill(fill, Answer(200, (), b"maybe stale"), True, "/r")
    assert await cache.lookup(KEY) is None


async def test_the_ttl_ends_an_entry_and_the_size_is_bounded(autojump_clock):
    cache = EdgeCache(lambda: 1, ttl=2.0, max_entries=3)
    app = App(cache)
    await app.get()
    await trio.sleep(1.0)
    await app.get()
    assert app.runs == 1
    await trio.sleep(1.5)
    await app.get()
    assert app.runs == 2
    for n in range(5):
        await app.get(b"/other/%d" % n)
    assert cache.statistics().entries == 3


async def test_a_disabled_cache_holds_nothing(autojump_clock):
    cache = EdgeCache(lambda: 1, enabled=False)
    app = App(cache)
    await app.get()
    await app.get()
    assert app.runs == 2 and cache.statistics().entries == 0


async def test_a_held_answer_is_served_without_the_app_until_an_event_is_delivered(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/api/held") * 3)
        first = await read_responses(stream, ["GET"] * 3)
        events = await store(db, release("ml"))
        await gw.publish(events)
        with trio.fail_after(5):  # the broadcaster hands it to the hub: the edge sees a new generation
            while gw.delivery.sequencer.last_id < events[-1].id:
                await trio.sleep(0.01)
        await stream.send_all(request("GET", "/api/held") + request("GET", "/api/held",
                                                                      'If-None-Match: "held-2"'))
        after = await read_responses(stream, ["GET", "GET"])
    assert [a.body for a in first] == [b'{"n": 1}'] * 3 and gw.app.extensions["renders"] == 2
    assert after[0].body == b'{"n": 2}' and after[1].status == 304 and after[1].body == b""
    assert after[1].headers["etag"] == '"held-2"' and "content-type" not in after[1].headers


async def test_an_entry_that_only_aged_is_served_while_its_refill_runs(autojump_clock):
    cache = EdgeCache(lambda: 1, ttl=2.0)
    app = App(cache)
    await app.get()
    await trio.sleep(3.0)  # too old, though no event was delivered
    waited: list[float] = []

    async def reader() -> None:
        started = trio.current_time()
        assert await app.get() in (b"body 1", b"body 2")
        waited.append(trio.current_time() - started)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(reader)  # this one refills (0.5 s) …
        await trio.sleep(0.1)
        for _ in range(5):
            nursery.start_soon(reader)  # … these get the old answer at once
    assert app.runs == 2 and sorted(waited) == [0.0] * 5 + [0.5]


async def test_the_daemons_held_listing_gives_way_to_a_release_stored_after_it(db_url, sim):
    """The daemon as wired: a listing held by its edge (a long TTL, so only invalidation can end it)
    shows a release stored after it was held, as soon as that release's event is delivered."""
    from tests.api_support import api_config
    from tests.daemon_inproc import running_daemon

    config = api_config(db_url, jiosaavn_base_url=sim.url, languages="ml", page_cap=1, api_rate_limit=0,
                        edge_cache_ttl=600, new_window_days=3650)  # the simulator's "today" is fixed
    async with running_daemon(config) as api:
        cache, scheduler = api.runtime.services.edge.cache, api.runtime.services.pipeline.scheduler

        async def round_ran() -> None:
            asked = (await api.client.post("/api/new-releases/fetch", json={"languages": ["ml"]})).json()
            with trio.fail_after(20):
                while scheduler.last_round is None or scheduler.last_round.id != asked["round_id"]:
                    await trio.sleep(0.02)

        async def titles() -> list[str]:
            return [r["title"] for r in (await api.client.get("/api/new-releases?language=ml")).json()["data"]]

        await round_ran()  # the catalogue as it stands: first seen, no events (nothing is new yet)
        held = await titles()
        hits = cache.statistics().hits
        assert await titles() == held and cache.statistics().hits == hits + 1  # answered from the edge
        await sim.release(language="ml", title="Stored While Held")
        await round_ran()
        with trio.fail_after(10):  # its event reaches the hub: the held copy is stale from then on
            while "Stored While Held" not in await titles():
                await trio.sleep(0.02)
