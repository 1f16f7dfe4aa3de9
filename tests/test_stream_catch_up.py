"""Catching up after a reconnect: from memory when the ring holds the id, from one shared and queued
database query when it does not, and a resume point on every stream from its first bytes."""

from __future__ import annotations

import attrs
import trio

from tests.stream_support import SseClient, open_gateway, open_sse, release, store
from vibed.delivery.replay import Replayer
from vibed.store.postgres import DatabaseUnavailable

CROWD = {"stream_limit_per_ip": 0, "api_rate_limit": 0, "connections_per_peer": 0}  # one address opens the whole crowd


async def _connect(port: int, last_id: int, into: list[list[int]], count: int) -> None:
    async with open_sse(port, last_event_id=str(last_id)) as client:
        into.append([f["id"] for f in await client.events(count, timeout=30)])


async def test_a_crowd_reconnecting_inside_the_ring_is_replayed_from_memory_without_a_query(db):
    async with open_gateway(db, **CROWD) as gw:
        events = await store(db, *(release() for _ in range(60)))
        await gw.publish(events)
        got: list[list[int]] = []
        async with trio.open_nursery() as crowd:
            for _ in range(100):
                crowd.start_soon(_connect, gw.port, events[9].id, got, 50)
        stats = gw.delivery.replayer.statistics()
    assert got == [[e.id for e in events[10:]]] * 100  # every client: all 50, in order, once
    assert (stats.from_memory, stats.database_queries) == (100, 0)


async def test_after_a_restart_the_ring_is_filled_from_the_database(db):
    events = await store(db, *(release() for _ in range(60)))  # stored by the daemon before the restart
    async with open_gateway(db) as gw, open_sse(gw.port, last_event_id=str(events[9].id)) as client:
        got = [f["id"] for f in await client.events(50)]
        stats = gw.delivery.replayer.statistics()
    assert got == [e.id for e in events[10:]]
    assert (stats.from_memory, stats.database_queries) == (1, 0)


async def test_identical_database_replays_share_one_query(db, monkeypatch):
    gate = trio.Event()
    real_query = Replayer._query

    async def held_query(replayer, *args):
        await gate.wait()
        return await real_query(replayer, *args)

    monkeypatch.setattr(Replayer, "_query", held_query)
    events = await store(db, *(release() for _ in range(20)))
    async with open_gateway(db, **CROWD) as gw:
        gw.delivery.hub.ring.ready = False  # older than the ring: the database must answer
        replayer = gw.delivery.replayer
        got: list[list[int]] = []
        async with trio.open_nursery() as crowd:
            for _ in range(30):
                crowd.start_soon(_connect, gw.port, events[4].id, got, 15)
            with trio.fail_after(20):
                while replayer.waiting < 30:
                    await trio.sleep(0.01)
            gate.set()
        stats = replayer.statistics()
    assert got == [[e.id for e in events[5:]]] * 30
    assert (stats.database_queries, stats.coalesced, stats.waiting) == (1, 29, 0)


async def test_database_replays_wait_their_turn_and_none_is_ended(db, monkeypatch):
    gate = trio.Event()
    running = peak = 0
    real_query = Replayer._query

    async def counted_query(replayer, *args):
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        try:
            await gate.wait()
            return await real_query(replayer, *args)
        finally:
            running -= 1

    monkeypatch.setattr(Replayer, "_query", counted_query)
    events = await store(db, *(release() for _ in range(12)))
    async with open_gateway(db, **CROWD) as gw:
        gw.delivery.hub.ring.ready = False
        replayer = gw.delivery.replayer
        got: list[list[int]] = []
        async with trio.open_nursery() as crowd:
            for i in range(10):  # ten different ids: ten flights, four at a time
                crowd.start_soon(_connect, gw.port, events[i].id, got, 12 - i - 1)
            with trio.fail_after(20):
                while replayer.waiting < 10 or running < 4:
                    await trio.sleep(0.01)
            await trio.sleep(0.1)  # room for a fifth flight to start, were the limit gone
            assert running == replayer.concurrency == 4
            gate.set()
    assert peak == 4
    assert sorted(got, key=len, reverse=True) == [[e.id for e in events[i + 1:]] for i in range(10)]


async def test_a_database_that_cannot_answer_ends_the_stream_with_a_spread_retry_not_an_error(db, monkeypatch):
    async def down(replayer, *args):
        raise DatabaseUnavailable("the database is down")

    monkeypatch.setattr(Replayer, "_query", down)
    events = await store(db, release(), release())
    async with open_gateway(db) as gw:
        gw.delivery.hub.ring.ready = False
        async with open_sse(gw.port, last_event_id=str(events[0].id)) as client:
            assert client.status == 200
            frames = []
            with trio.fail_after(10):
                while (frame := await client.frame()) is not None:
                    frames.append(frame)
    assert [list(f) for f in frames] == [["retry"], ["retry"]]  # the opening one, then the spread one
    assert 2000 <= int(frames[-1]["retry"]) <= 15000 and client.ended


async def test_a_live_only_stream_carries_the_newest_id_and_a_reconnect_from_it_loses_nothing(db):
    async with open_gateway(db) as gw:
        first = await store(db, release(), release(), release())
        await gw.publish(first)
        async with open_sse(gw.port) as client:
            assert "retry" in await client.frame()
            assert await client.frame() == {"id": first[-1].id}  # before any event: where it stands
        while_away = await store(db, release(), release())
        await gw.publish(while_away)
        async with open_sse(gw.port, last_event_id=str(first[-1].id)) as client:
            assert [f["id"] for f in await client.events(2)] == [e.id for e in while_away]


async def test_a_replay_ends_with_the_resume_point_past_events_its_filter_skips(db):
    async with open_gateway(db) as gw:
        before = await store(db, release(language="hi"))
        events = await store(db, release(language="ml"))
        events += await store(db, release(language="hi"), release(language="hi"))
        await gw.publish(before + events)
        async with open_sse(gw.port, "/api/new-releases/stream?language=ml",
                            last_event_id=str(before[0].id)) as client:
            assert [f["id"] for f in await client.events(1)] == [events[0].id]
            assert await client.frame() == {"id": events[-1].id}


async def test_heartbeats_move_a_quiet_streams_resume_point(db):
    async with open_gateway(db, heartbeat=0.2) as gw, \
            open_sse(gw.port, "/api/new-releases/stream?language=hi") as client:
        events = await store(db, release(language="ml"), release(language="ml"))
        await gw.publish(events)
        with trio.fail_after(10):
            while (frame := await client.frame()) != {"comment": "hb", "id": events[-1].id}:
                assert "event" not in frame, frame  # nothing of the filter's was published


async def test_a_refused_stream_request_is_not_kept_waiting(db):
    async with open_gateway(db, max_streams=1) as gw, open_sse(gw.port):
        refused = await SseClient.open(gw.port)
        try:
            with trio.fail_after(5):
                while await refused.frame() is not None:
                    pass
            assert refused.status == 200 and refused.ended
        finally:
            await refused.aclose()


async def test_events_committed_but_never_announced_reach_streams_and_the_ring_by_the_sweep(db):
    """The database died at a writer's commit: the events are stored, the writer never heard so, and
    no later event comes to pull them in.  The sequencer's sweep announces them, so a live client gets
    them and a reconnecting one is replayed them from memory."""
    from tests.stream_support import FAST_BUS

    async with open_gateway(db, timing=attrs.evolve(FAST_BUS, sweep_interval=0.2)) as gw, \
            open_sse(gw.port) as live:
        unannounced = await store(db, release(), release())  # committed; gw.publish never called
        assert [f["id"] for f in await live.events(2)] == [e.id for e in unannounced]
        async with open_sse(gw.port, last_event_id=str(unannounced[0].id - 1)) as back:
            assert [f["id"] for f in await back.events(2)] == [e.id for e in unannounced]
        assert gw.delivery.replayer.statistics().database_queries == 0
