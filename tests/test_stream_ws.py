"""The WebSocket twin: same events, filters and replay as JSON messages; subscriptions change live;
the same resume point, keepalive, stall and replay caps as SSE; a failed handshake holds no slot."""

from __future__ import annotations

import json

import trio
from trio_websocket import open_websocket_url

from tests.http_wire import raw_clients, read_responses
from tests.stream_support import open_gateway, release, store
from tests.ws_support import GOOD, NO_KEY, VERSION_8, open_wire_client, upgrade
from vibed.edge.connection import Timeouts
from vibed.edge.respond import SECURITY_HEADERS
from vibed.vocab.messages import StoredEvent


async def receive(ws, timeout: float = 5.0) -> dict:
    with trio.fail_after(timeout):
        return json.loads(await ws.get_message())


async def test_events_filters_and_a_live_subscription_change(db):
    async with open_gateway(db) as gw:
        url = f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?language=ml"
        async with open_websocket_url(url) as ws:
            assert (await receive(ws))["event"] == "subscribed"
            hi, ml = release("hi"), release("ml", title="Malayalam one")
            stored = {e.language: e for e in await store(db, hi, ml)}
            await gw.publish(tuple(sorted(stored.values(), key=lambda e: e.id)))
            message = await receive(ws)
            assert message == {"id": stored["ml"].id, "event": "new_release", "data": dict(stored["ml"].payload)}
            # switch to Hindi and ask for a replay from the start: the Hindi event comes from the database
            await ws.send_message(json.dumps({"subscribe": ["hi"], "last_event_id": 0}))
            replayed = await receive(ws)
            assert (replayed["id"], replayed["data"]["language"]) == (stored["hi"].id, "hi")
            confirmed = await receive(ws)
            assert confirmed["event"] == "subscribed" and confirmed["data"]["language"] == ["hi"]
            live = await store(db, release("ml"), release("hi", title="live hindi"))
            await gw.publish(live)
            assert (await receive(ws))["data"]["title"] == "live hindi"


async def test_replay_from_the_query_string_and_reset_for_a_future_id(db):
    async with open_gateway(db) as gw:
        stored = await store(db, release(), release(), release())
        url = f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?last_event_id={stored[0].id}"
        async with open_websocket_url(url) as ws:
            assert [(await receive(ws))["id"] for _ in range(2)] == [e.id for e in stored[1:]]
            assert (await receive(ws))["data"]["last_event_id"] == stored[-1].id  # "subscribed"
            await ws.send_message(json.dumps({"subscribe": [], "last_event_id": stored[-1].id + 10}))
            reset = await receive(ws)
            assert reset["event"] == "reset" and reset["id"] == stored[-1].id
            assert "future" in reset["data"]["reason"]


async def test_a_malformed_message_gets_an_error_frame_and_the_socket_stays_useful(db):
    async with open_gateway(db) as gw:
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            await receive(ws)
            for bad, detail in [("{nope", "not JSON"), ('{"hello": 1}', "subscribe"),
                                ('{"subscribe": ["xx"]}', "xx"), ('{"subscribe": [], "last_event_id": "z"}', "last_event_id")]:
                await ws.send_message(bad)
                error = await receive(ws)
                assert set(error) == {"error", "detail"} and detail in error["detail"], error
            stored = await store(db, release())
            await gw.publish(stored)
            assert (await receive(ws))["id"] == stored[0].id


async def test_a_bad_filter_is_refused_before_the_upgrade(db):
    import httpx

    async with open_gateway(db) as gw, httpx.AsyncClient() as http:
        response = await http.get(f"http://127.0.0.1:{gw.port}/api/new-releases/ws?kind=ep",
                                  headers={"Upgrade": "websocket", "Connection": "Upgrade"})
        assert response.status_code == 400 and response.json()["error"] == "unknown_kind"


async def test_a_deeply_nested_message_never_reaches_the_parser(db):
    async with open_gateway(db) as gw:
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            await receive(ws)
            await ws.send_message('{"subscribe": ' + "[" * 1000 + "]" * 1000 + "}")
            error = await receive(ws)
            assert error["error"] == "bad_message" and "nested" in error["detail"]
            await ws.send_message(json.dumps({"subscribe": ["ml"]}))
            assert (await receive(ws))["event"] == "subscribed"  # still useful


async def test_re_subscriptions_count_in_the_per_ip_limit(db):
    async with open_gateway(db, api_rate_limit=3) as gw:  # the open itself is the first request
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            await receive(ws)
            answers = []
            for _ in range(3):
                await ws.send_message(json.dumps({"subscribe": ["ml"]}))
                answers.append(await receive(ws))
    assert [a.get("event") or a.get("error") for a in answers] == ["subscribed", "subscribed", "rate_limited"]


# -- the resume point --------------------------------------------------------------------------
async def test_subscribed_carries_the_newest_id_and_resuming_from_it_gives_exactly_what_followed(db):
    """Stored before start (the sequencer's starting point) and delivered live: both advance the
    id in ``subscribed``.  A client resuming from it gets exactly what the live client got after it."""
    old = await store(db, release(), release())
    async with open_gateway(db) as gw:
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            assert (await receive(ws))["data"]["last_event_id"] == old[-1].id  # not 0: no history replayed
        live = await store(db, release())
        await gw.publish(live)
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            resume = (await receive(ws))["data"]["last_event_id"]
            assert resume == live[-1].id
            after = await store(db, release("hi"), release("ml"))
            await gw.publish(after)
            seen_live = [(await receive(ws))["id"] for _ in after]
        url = f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?last_event_id={resume}"
        async with open_websocket_url(url) as ws:
            replayed = [(await receive(ws))["id"] for _ in after]
            assert (await receive(ws))["event"] == "subscribed"
    assert replayed == seen_live == [e.id for e in after]


async def test_commits_on_both_sides_of_the_replay_query_arrive_once_each(db, monkeypatch):
    """The SSE seam test, over WebSocket: one commit lands between listening and the replay query
    (replayed and queued live), two right after it (live only); each arrives once, in order.  The
    ring is told it holds nothing, so the replay takes the database path, where awaits open the seam."""
    from vibed.delivery.replay import Replayer

    real_query = Replayer._query
    landed: list = []

    async def query_with_commits_around(replayer, *args, **kwargs):
        before = await store(db, release(title="before the query"))
        await gw.publish(before)
        landed.extend(before)
        replay = await real_query(replayer, *args, **kwargs)
        for title in ("writer one", "writer two"):
            events = await store(db, release(title=title))
            landed.extend(events)
            await gw.publish(events)
        return replay

    async with open_gateway(db) as gw:
        seen = await store(db, release(title="seen"))
        await gw.publish(seen)
        missed = await store(db, release(title="missed"))
        gw.delivery.hub.ring.ready = False
        monkeypatch.setattr(Replayer, "_query", query_with_commits_around)
        url = f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?last_event_id={seen[0].id}"
        async with open_websocket_url(url) as ws:
            got = [await receive(ws) for _ in range(5)]  # 2 replayed, "subscribed", 2 live
            tail = await store(db, release(title="after"))
            await gw.publish(tail)
            got.append(await receive(ws))
    assert got[2]["event"] == "subscribed" and got[2]["data"]["last_event_id"] == landed[0].id
    ids = [m["id"] for m in got if "id" in m]
    assert ids == [missed[0].id, *(e.id for e in landed), tail[0].id]  # each once, in order


# -- keepalive and stalls ----------------------------------------------------------------------
async def test_pings_at_the_heartbeat_keep_a_quiet_socket_and_a_silent_peer_is_dropped(db):
    """A ping each heartbeat on a quiet filter; a peer that answers stays, one that never pongs is
    dropped after the stall timeout and its slot is free again."""
    async with open_gateway(db, heartbeat=0.3, stream_stall_timeout=1.0, stream_limit_per_ip=2) as gw:
        async with open_wire_client(gw.port) as answering, open_wire_client(gw.port, pong=False) as silent, \
                trio.open_nursery() as nursery:
            assert (await answering.message())["event"] == "subscribed"
            nursery.start_soon(answering.until_closed)  # reads and pongs meanwhile
            with trio.fail_after(5):
                await silent.until_closed()  # reading, but never a pong
            with trio.fail_after(5):
                while len(answering.pings) < 4:
                    await trio.sleep(0.05)
            gaps = [b - a for a, b in zip(answering.pings, answering.pings[1:], strict=False)]
            assert all(0.2 < gap < 0.6 for gap in gaps), gaps
            assert len(silent.pings) == 1 and silent.closed is None  # its pong never came: dropped, no close
            assert gw.delivery.hub.statistics().ws_clients == 1
            assert gw.delivery.hub.admission.open == 1
            async with open_wire_client(gw.port) as third:  # the silent one's slot is free again
                assert (await third.message())["event"] == "subscribed"
            nursery.cancel_scope.cancel()


async def test_a_client_that_stops_reading_is_dropped_after_the_stall_timeout(db):
    """No pings here (heartbeat an hour): the writes themselves give up.  40 events of 64 KiB fill
    any window and overflow the backlog of 8, so the hub drops the listener too; the slot comes back."""
    async with open_gateway(db, heartbeat=3600, stream_stall_timeout=1.0, stream_limit_per_ip=1,
                            client_backlog=8) as gw:
        async with open_wire_client(gw.port, receive_buffer=4096) as stuck:
            assert (await stuck.message())["event"] == "subscribed"
            await gw.publish(big_events(gw, 40))
            with trio.fail_after(5):
                while gw.delivery.hub.admission.open:
                    await trio.sleep(0.05)
            assert gw.delivery.hub.statistics().slow_drops == 1 and gw.delivery.hub.statistics().ws_clients == 0
            async with open_wire_client(gw.port) as next_one:  # per-IP limit 1: the slot is free
                assert (await next_one.message())["event"] == "subscribed"


def big_events(gw, count: int, size: int = 65536) -> tuple[StoredEvent, ...]:
    """Events right after the newest delivered one (so the sequencer needs no gap query)."""
    first = gw.delivery.sequencer.last_id + 1
    return tuple(StoredEvent(first + n, "new_release", first + n, "jiosaavn", "ml", "album",
                             {"title": "z" * size}) for n in range(count))


# -- replay caps -------------------------------------------------------------------------------
async def test_a_replay_over_the_count_cap_is_one_reset(db):
    stored = await store(db, *(release() for _ in range(5)))
    async with open_gateway(db, replay_cap=3) as gw:
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?last_event_id={stored[0].id}") as ws:
            reset = await receive(ws)
            assert reset == {"id": stored[-1].id, "event": "reset", "data": {"reason": reset["data"]["reason"]}}
            assert "more than 3 events" in reset["data"]["reason"]
            assert (await receive(ws))["data"]["last_event_id"] == stored[-1].id


async def test_a_replay_over_the_byte_cap_is_one_reset_like_sse(db):
    stored = await store(db, *(release(title="y" * 500) for _ in range(12)))
    async with open_gateway(db) as gw:
        gw.delivery.replayer.max_bytes = 4000  # the SSE test's cap: ≈ 12 × 800 bytes exceed it
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws?last_event_id={stored[0].id}") as ws:
            reset = await receive(ws)
            assert reset["event"] == "reset" and "MiB" in reset["data"]["reason"] and reset["id"] == stored[-1].id
            assert (await receive(ws))["event"] == "subscribed"  # one reset, not eleven frames


async def test_a_replay_the_database_cannot_give_closes_with_1013_and_frees_the_slot(db, monkeypatch):
    from vibed.delivery.replay import Replayer
    from vibed.store.postgres import DatabaseUnavailable

    async def down(replayer, *args, **kwargs):
        raise DatabaseUnavailable("the database is down")

    stored = await store(db, release(), release())
    async with open_gateway(db) as gw:
        gw.delivery.hub.ring.ready = False  # the database path
        monkeypatch.setattr(Replayer, "_query", down)
        async with open_wire_client(gw.port, f"?last_event_id={stored[0].id}") as client:
            with trio.fail_after(5):
                while client.closed is None:
                    assert await client.next_event() is not None
            assert client.closed.code == 1013 and "last_event_id" in client.closed.reason
        with trio.fail_after(5):
            while gw.delivery.hub.admission.open:
                await trio.sleep(0.05)


# -- failed handshakes -------------------------------------------------------------------------
async def test_25_malformed_upgrades_hold_no_slot_and_the_address_still_opens_a_stream(db):
    async with open_gateway(db, stream_limit_per_ip=20) as gw, raw_clients(gw.port) as connect:
        answers = []
        for _ in range(25):
            stream = await connect()
            await stream.send_all(upgrade(*NO_KEY))
            answers += await read_responses(stream, ["GET"])
        assert gw.delivery.hub.admission.open == 0
        async with open_websocket_url(f"ws://127.0.0.1:{gw.port}/api/new-releases/ws") as ws:
            assert (await receive(ws))["event"] == "subscribed"  # admitted from the same address
            streams = gw.delivery.health().streams
            assert (streams.websocket, gw.delivery.hub.admission.open) == (1, 1)  # health tells the truth
    for answer in answers:  # each in the one JSON error shape, with the security headers
        assert answer.status == 400, answer
        assert answer.json()["error"] == "bad_websocket_upgrade" and "Sec-WebSocket-Key" in answer.json()["detail"]
        assert set(answer.json()) == {"error", "detail"}
        for name, value in SECURITY_HEADERS:
            assert answer.headers[name.decode()] == value.decode()


async def test_failed_handshakes_do_not_fill_the_global_limit(db):
    async with open_gateway(db, max_streams=2, stream_limit_per_ip=0) as gw, raw_clients(gw.port) as connect:
        answers = []
        for headers in [NO_KEY, VERSION_8] * 3:
            stream = await connect()
            await stream.send_all(upgrade(*headers))
            answers += await read_responses(stream, ["GET"])
        assert gw.delivery.hub.admission.open == 0
        async with open_wire_client(gw.port) as one, open_wire_client(gw.port) as two:
            assert [(await c.message())["event"] for c in (one, two)] == ["subscribed"] * 2
    assert [a.status for a in answers] == [400, 426] * 3
    assert {a.json()["error"] for a in answers[1::2]} == {"unsupported_websocket_version"}
    assert {a.headers["sec-websocket-version"] for a in answers[1::2]} == {"13"}  # the version to use


async def test_a_handshake_that_never_completes_frees_its_slot_at_the_head_deadline(db, monkeypatch):
    """The inner layer: were the edge's check ever to let through an upgrade trio-websocket refuses,
    its reader answers and stops, and the handshake would wait for ever; the deadline ends it."""
    from vibed.edge import router

    monkeypatch.setattr(router, "handshake_refusal", lambda request: None)  # the edge's check, skipped
    async with open_gateway(db, timeouts=Timeouts(head=0.5)) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(upgrade(*NO_KEY))
        with trio.fail_after(5):
            while gw.delivery.hub.admission.open == 0:  # admitted: a slot is taken
                await trio.sleep(0.01)
            while gw.delivery.hub.admission.open:
                await trio.sleep(0.05)


async def test_a_websocket_over_the_stream_limit_is_a_503_too_many_streams_with_retry_after(db):
    # an SSE stream is told to come back with a 200 (an EventSource gives up on anything else); a WebSocket
    # client reads a refused handshake's status, so it gets the error as it is
    async with open_gateway(db, stream_limit_per_ip=1) as gw, raw_clients(gw.port) as connect, \
            open_wire_client(gw.port) as held:
        assert (await held.message())["event"] == "subscribed"
        stream = await connect()
        await stream.send_all(upgrade(*GOOD))
        [refused] = await read_responses(stream, ["GET"])
        assert gw.delivery.hub.admission.open == 1
    assert refused.status == 503 and refused.json()["error"] == "too_many_streams", refused
    assert int(refused.headers["retry-after"]) > 0
