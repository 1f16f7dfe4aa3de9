"""The WebSocket twin: same events, filters and replay as JSON messages; subscriptions change live."""

from __future__ import annotations

import json

import trio
from trio_websocket import open_websocket_url

from tests.stream_support import open_gateway, release, store


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
