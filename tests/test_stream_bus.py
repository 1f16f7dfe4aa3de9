"""Two instances sharing one PostgreSQL and one real Redis: every event reaches every client once,
in id order, whichever instance stored it — also across a Redis outage."""

from __future__ import annotations

import trio

from tests.redis_support import RedisServer
from tests.stream_support import open_gateway, open_sse, release, store
from vibed.delivery.admission import Admission
from vibed.delivery.hub import Hub
from vibed.delivery.sequencer import Sequencer


async def wait_for(predicate, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.05)


async def bus_state(gw) -> str:
    return gw.delivery.health().bus.state


async def test_two_instances_deliver_every_event_once_in_order(db, redis_server: RedisServer):
    async with open_gateway(db, redis_url=redis_server.url) as a, open_gateway(db, redis_url=redis_server.url) as b:
        await wait_for(lambda: _both_ok(a, b))
        async with open_sse(a.port) as on_a, open_sse(b.port) as on_b:
            stored = []
            for i in range(6):  # alternate the instance that stores
                gw = a if i % 2 else b
                batch = await store(db, release(), release())
                stored.extend(batch)
                await gw.publish(batch)
            expected = [e.id for e in stored]
            assert [f["id"] for f in await on_a.events(12)] == expected
            assert [f["id"] for f in await on_b.events(12)] == expected
        health = a.delivery.health()
        assert health.bus.kind == "redis" and health.bus.state == "ok"


async def _both_ok(a, b) -> bool:
    return await bus_state(a) == "ok" and await bus_state(b) == "ok"


async def test_redis_down_mid_stream_loses_nothing_and_health_says_degraded(db, redis_server: RedisServer):
    async with open_gateway(db, redis_url=redis_server.url) as a, open_gateway(db, redis_url=redis_server.url) as b:
        await wait_for(lambda: _both_ok(a, b))
        async with open_sse(a.port) as on_a, open_sse(b.port) as on_b:
            stored = list(await store(db, release()))
            await a.publish(tuple(stored))
            redis_server.kill()
            await wait_for(lambda: _degraded(a, b))
            for gw in (a, b, a):  # each instance keeps serving its own; the other polls the database
                batch = await store(db, release())
                stored.extend(batch)
                await gw.publish(batch)
            expected = [e.id for e in stored]
            assert [f["id"] for f in await on_a.events(4)] == expected
            assert [f["id"] for f in await on_b.events(4)] == expected
            health = b.delivery.health()
            assert health.bus.state == "degraded" and health.bus.error is not None
            redis_server.start()  # same port: both reconnect with back-off
            await wait_for(lambda: _both_ok(a, b), timeout=10)
            batch = await store(db, release(), release())
            await b.publish(batch)
            expected = [e.id for e in batch]
            assert [f["id"] for f in await on_a.events(2)] == expected
            assert [f["id"] for f in await on_b.events(2)] == expected


async def _degraded(a, b) -> bool:
    return await bus_state(a) == "degraded" and await bus_state(b) == "degraded"


async def test_without_redis_the_bus_is_local_and_ok(db):
    async with open_gateway(db) as gw:
        assert (gw.delivery.health().bus.kind, gw.delivery.health().bus.state) == ("local", "ok")


async def test_the_sequencer_drops_repeats_and_fills_gaps_from_the_database(db):
    delivered: list[int] = []

    class RecordingHub(Hub):
        def publish_nowait(self, events) -> None:
            delivered.extend(e.id for e in events)

    sequencer = Sequencer(RecordingHub(Admission(10)), db)
    await sequencer.start_after_newest()
    stored = await store(db, *(release() for _ in range(5)))
    await sequencer.deliver(stored[:1])
    await sequencer.deliver(stored[3:4])  # 2 and 3 never arrived: they come from the database first
    await sequencer.deliver(stored[:4])  # repeats are dropped
    await sequencer.deliver(stored[4:])
    assert delivered == [e.id for e in stored]


async def test_a_hung_redis_with_events_in_flight_loses_nothing(db, redis_server: RedisServer):
    """SIGSTOP, not a kill: the connection stays open and silent, so only the ping round trip can
    tell.  Events published into the stopped Redis still reach the other instance's client, once."""
    import signal

    async with open_gateway(db, redis_url=redis_server.url) as a, open_gateway(db, redis_url=redis_server.url) as b:
        await wait_for(lambda: _both_ok(a, b))
        async with open_sse(b.port) as on_b:
            stored = list(await store(db, release()))
            await a.publish(tuple(stored))
            assert process(redis_server).send_signal(signal.SIGSTOP) is None
            try:
                for _ in range(3):  # in flight: a's publishes go into a Redis that never answers
                    batch = await store(db, release())
                    stored.extend(batch)
                    await a.publish(batch)
                await wait_for(lambda: _degraded(a, b), timeout=10)  # the ping timeout noticed
                got = [f["id"] for f in await on_b.events(4, timeout=10)]  # … and the database filled in
            finally:
                process(redis_server).send_signal(signal.SIGCONT)
            await wait_for(lambda: _both_ok(a, b), timeout=10)
            late = await store(db, release())
            await a.publish(late)
            got += [f["id"] for f in await on_b.events(1)]
    assert got == [e.id for e in [*stored, *late]]


def process(server: RedisServer):
    assert server.process is not None
    return server.process
