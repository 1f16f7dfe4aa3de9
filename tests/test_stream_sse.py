"""The SSE stream through the gateway, on real sockets and a real PostgreSQL."""

from __future__ import annotations

import trio

from tests.stream_support import SseClient, open_gateway, open_sse, release, store
from vibed.delivery.replay import Replayer


async def test_a_stored_event_reaches_a_stream_client_as_one_sse_frame(db):
    async with open_gateway(db) as gw, open_sse(gw.port) as client:
        assert client.status == 200
        assert client.header("content-type").startswith("text/event-stream")
        assert client.header("cache-control") == "no-store"
        assert client.header("x-accel-buffering") == "no"
        assert 3000 <= int((await client.frame())["retry"]) <= 6000  # drawn per stream: a crowd spreads
        assert await client.frame() == {"id": 0}  # the resume point: nothing stored yet
        events = await store(db, release(title="Aaro"))
        await gw.publish(events)
        [frame] = await client.events(1)
        assert frame == {"id": events[0].id, "event": "new_release", "data": dict(events[0].payload)}
        assert frame["data"]["title"] == "Aaro"


async def test_a_reconnecting_client_gets_every_event_once_across_the_replay_seam(db):
    async with open_gateway(db) as gw:
        seen_before = await store(db, release(), release())
        await gw.publish(seen_before)
        missed = await store(db, release(), release())  # stored while the client was away...
        stored = [*seen_before, *missed]

        async def keep_writing() -> None:  # ...and more stored while it reconnects and replays
            for _ in range(12):
                batch = await store(db, release(), release())
                stored.extend(batch)
                await gw.publish(batch)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(keep_writing)
            async with open_sse(gw.port, last_event_id=str(seen_before[-1].id)) as client:
                got = await client.events(len(missed) + 24)
                await gw.publish(missed)  # the late live copy of replayed events must not show twice
                late = await store(db, release())
                await gw.publish(late)
                got += await client.events(1)
    ids = [f["id"] for f in got]
    assert ids == [e.id for e in stored[len(seen_before):]] + [late[0].id]


async def test_last_event_id_query_parameter_and_zero_replay_from_the_start(db):
    async with open_gateway(db) as gw:
        events = await store(db, release(), release(), release())
        await gw.publish(events)
        async with open_sse(gw.port, "/api/new-releases/events?last_event_id=0") as client:
            assert [f["id"] for f in await client.events(3)] == [e.id for e in events]


async def _first_event_after(gw, db, **headers) -> tuple[dict, dict]:
    async with open_sse(gw.port, **headers) as client:
        reset = (await client.events(1))[0]
        live = await store(db, release())
        await gw.publish(live)
        return reset, (await client.events(1))[0]


async def test_unknown_future_and_too_old_ids_get_an_explicit_reset_then_live_events(db):
    async with open_gateway(db, replay_cap=3) as gw:
        events = await store(db, *(release() for _ in range(6)))
        await db.execute("DELETE FROM events WHERE id = $1", events[1].id)
        newest = events[-1].id
        async with open_sse(gw.port, last_event_id=str(events[3].id)) as client:  # within the cap: replay
            assert [f["id"] for f in await client.events(2)] == [events[4].id, events[5].id]
        for last_id, why in [(events[1].id, "unknown"), (newest + 50, "future"), (events[0].id, "more than 3")]:
            reset, live = await _first_event_after(gw, db, last_event_id=str(last_id))
            assert reset["event"] == "reset" and why in reset["data"]["reason"]
            assert reset["id"] == newest, "the client resumes from the current newest id"
            assert live["event"] == "new_release" and live["id"] > newest
            newest = live["id"]


async def test_filters_select_by_language_source_and_kind_in_replay_and_live(db):
    async with open_gateway(db) as gw:
        ml_album, ml_song, hi_album, ta_song = (release("ml", "album"), release("ml", "song"),
                                                release("hi", "album"), release("ta", "song"))
        spotify = release("hi", "album", source="spotify")
        await gw.publish(await store(db, ml_album, ml_song))  # delivered before b and c connect
        async with open_sse(gw.port, "/api/new-releases/stream?language=ml&kind=album&last_event_id=0") as a, \
                open_sse(gw.port, "/api/new-releases/stream?language=hi,ta&language=ml&source=spotify") as b, \
                open_sse(gw.port, "/api/new-releases/stream?kind=song") as c:
            live = await store(db, hi_album, ta_song, spotify)
            await gw.publish(live)
            await gw.publish(await store(db, release("ml", "album", title="last")))
            assert [f["data"]["title"] for f in await a.events(2)] == [ml_album.title, "last"]
            assert [f["data"]["title"] for f in await b.events(1)] == [spotify.title]
            assert [f["data"]["title"] for f in await c.events(1)] == [ta_song.title]


async def test_bad_filters_and_ids_are_refused_with_400_json(db):
    async with open_gateway(db) as gw:
        for target, error in [("?language=xx", "unknown_language"), ("?kind=ep", "unknown_kind"),
                              ("?source=napster", "unknown_source"), ("?last_event_id=-1", "bad_last_event_id")]:
            async with open_sse(gw.port, "/api/new-releases/stream" + target) as client:
                assert client.status == 400
                body = b""
                while not client.ended:
                    await client._pump()
                body = client.buffer
                assert '"error":"' + error + '"' in body and '"detail":' in body
        async with open_sse(gw.port, last_event_id="abc") as client:
            assert client.status == 400


async def test_other_paths_and_methods_reach_the_app_through_the_edge_on_one_connection(db):
    import httpx

    async with open_gateway(db) as gw:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{gw.port}") as http:
            ping = await http.get("/api/ping")
            assert ping.status_code == 200 and ping.json() == {"pong": True, "lifespan_runs": 1}
            again = await http.get("/api/ping")  # keep-alive: the same connection, still Hypercorn's
            assert again.json()["pong"] is True
            assert (await http.post("/api/echo", content=b"x" * 5000)).json() == {"echo": "x" * 5000}
            assert (await http.get("/nope")).status_code == 404
            wrong = await http.post("/api/new-releases/stream")
            assert (wrong.status_code, wrong.json()["error"]) == (405, "method_not_allowed")


async def test_streams_beyond_max_streams_get_a_200_that_ends_with_a_spread_retry(db):
    """An EventSource gives up for good on a non-200: a stream we cannot hold is told when to come
    back (a ``retry:`` drawn from a wide range) and ended, so the browser reconnects later."""
    async with open_gateway(db, max_streams=1) as gw, open_sse(gw.port) as first:
        async with open_sse(gw.port) as second:
            assert second.status == 200 and second.header("content-type").startswith("text/event-stream")
            assert await second.frame() == {"comment": "the server holds its maximum of 1 streams"}
            assert 2000 <= int((await second.frame())["retry"]) <= 15000
            assert await second.frame() is None and second.ended
        await gw.publish(await store(db, release()))
        assert len(await first.events(1)) == 1


async def test_shutdown_ends_open_streams_cleanly(db):
    async with open_gateway(db) as gw, open_sse(gw.port) as client:
        assert "retry" in await client.frame() and await client.frame() == {"id": 0}
        gw.stop.set()
        with trio.fail_after(10):
            last = await client.frame()
            assert 2000 <= int(last["retry"]) <= 15000  # a drain spreads the crowd's return
            assert await client.frame() is None
        assert client.ended


async def test_a_client_that_never_reads_delays_no_one_and_is_dropped_past_its_backlog(db):
    import socket

    async with open_gateway(db, client_backlog=8) as gw, open_sse(gw.port) as fast:
        slow = trio.socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        await slow.connect(("127.0.0.1", gw.port))
        await slow.send(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        with trio.fail_after(10):
            while gw.delivery.hub.statistics().sse_clients < 2:
                await trio.sleep(0.01)
        slow_port = slow.getsockname()[1]
        for client in gw.delivery.hub._by_fd.values():  # a tiny kernel buffer, so the backlog fills fast
            if client.sock.getpeername()[1] == slow_port:
                client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        events = await store(db, *(release(title="t" * 3000) for _ in range(40)))
        started = trio.current_time()
        await gw.publish(events)
        # a hub that waited on the slow socket would wait for its 30 s stall timeout: 5 s is a ceiling
        assert [f["id"] for f in await fast.events(40, timeout=5)] == [e.id for e in events]
        assert trio.current_time() - started < 5.0
        assert gw.delivery.hub.statistics().slow_drops == 1
        assert gw.delivery.hub.statistics().sse_clients == 1
        received = b""
        with trio.fail_after(10):
            while chunk := await slow.recv(65536):
                received += chunk
        slow.close()
        assert 0 < received.count(b"event: new_release") < 40  # cut off, not fed forever


async def test_a_client_that_stops_reading_is_dropped_in_a_quiet_period(db):
    import socket as stdsocket

    async with open_gateway(db, heartbeat=0.2, stream_stall_timeout=1.0) as gw, open_sse(gw.port) as reader:
        sock = stdsocket.socket()
        sock.setsockopt(stdsocket.SOL_SOCKET, stdsocket.SO_RCVBUF, 4096)  # a small window, soon shut
        sock.connect(("127.0.0.1", gw.port))
        sock.sendall(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: t\r\n\r\n")
        try:
            with trio.fail_after(5):
                while gw.delivery.hub.statistics().sse_clients != 2:
                    await trio.sleep(0.01)
            # enough to fill its window and leave bytes in our send queue, then silence
            stored = await store(db, *(release(title="x" * 900) for _ in range(200)))
            await gw.publish(stored)
            await reader.events(200)
            with trio.fail_after(5):  # stall timeout 1 s, checked at each 0.2 s heartbeat
                while gw.delivery.hub.statistics().sse_clients != 1:
                    await trio.sleep(0.05)
            assert gw.delivery.hub.statistics().slow_drops == 1
            stalled = gw.delivery.hub.statistics()
        finally:
            sock.close()
    assert stalled.sse_clients == 1  # the reading client is still there


async def test_a_replay_past_the_byte_cap_is_a_reset(db):
    stored = await store(db, *(release(title="y" * 500) for _ in range(12)))  # ≈ 12 × 800 bytes
    async with open_gateway(db) as gw:
        gw.delivery.replayer.max_bytes = 4000
        async with open_sse(gw.port, last_event_id=str(stored[0].id)) as client:
            [reset] = await client.events(1)
    assert reset["event"] == "reset" and "MiB" in reset["data"]["reason"]
    assert reset["id"] == stored[-1].id  # resume from the newest: the client refetches the list


async def test_stream_opens_count_in_the_per_ip_api_limit(db):
    async with open_gateway(db, api_rate_limit=2) as gw, open_sse(gw.port) as first, open_sse(gw.port) as second:
        refused = await SseClient.open(gw.port)
        try:  # a 429 would end an EventSource for good: a 200 says when to come back, no sooner than the limit
            assert (first.status, second.status, refused.status) == (200, 200, 200)
            assert refused.header("RateLimit-Remaining") == "0"
            assert await refused.frame() == {"comment": "too many requests from your address; come back later"}
            retry_ms = int((await refused.frame())["retry"])
            assert await refused.frame() is None
        finally:
            await refused.aclose()
    assert retry_ms >= 2000


async def test_commits_landing_on_both_sides_of_the_replay_query_arrive_once_each(db, monkeypatch):
    """Forced, not hoped for: one commit lands between the client's registration and the replay
    query (so it is both replayed and queued live), two writers commit concurrently right after the
    query (live only).  Reverting either half of the seam (registering after the replay, or not
    dropping live ids at or below the replay's floor) duplicates or loses one of them.  The ring
    is told it holds nothing, so the replay takes the database path, where awaits open the seam."""
    landed: list = []

    async def query_with_commits_around(replayer, *args, **kwargs):
        before = await store(db, release(title="before the query"))
        await gw.publish(before)  # the paused client queues it live; the query will also see it
        landed.extend(before)
        replay = await real_query(replayer, *args, **kwargs)
        async with trio.open_nursery() as writers:  # two writers between the query and resuming
            for title in ("writer one", "writer two"):
                writers.start_soon(write_one, title)
        return replay

    async def write_one(title: str) -> None:
        events = await store(db, release(title=title))
        landed.extend(events)
        await gw.publish(events)

    async with open_gateway(db) as gw:
        seen = await store(db, release(title="seen"))
        await gw.publish(seen)
        missed = await store(db, release(title="missed"))
        gw.delivery.hub.ring.ready = False
        real_query = Replayer._query
        monkeypatch.setattr(Replayer, "_query", query_with_commits_around)
        async with open_sse(gw.port, last_event_id=str(seen[0].id)) as client:
            got = await client.events(4)
            tail = await store(db, release(title="after"))
            await gw.publish(tail)
            got += await client.events(1)
    ids = [f["id"] for f in got]
    assert ids == sorted({missed[0].id, *(e.id for e in landed), tail[0].id})  # each once, in order
    assert len(ids) == len(set(ids)) == 5
