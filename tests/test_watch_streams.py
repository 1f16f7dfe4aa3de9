"""A stream that names a watch holds the filter it resolved when it connected until the edit is announced
(``Delivery.changes``, what PATCH does: tests/test_watch_live_changes.py); from then on it has the edited
filter, and so does its reconnection's replay.  An unknown watch is a 404 before any
stream, and a WebSocket subscription naming one is answered with an error and the socket stays open."""

from __future__ import annotations

import json

import attrs
from wsproto.events import TextMessage

from tests.stream_support import open_gateway, open_sse, release, store
from tests.ws_support import open_wire_client
from vibed.store import watches
from vibed.store.watches import WatchChange
from vibed.vocab.messages import Artist


def _by(name: str, title: str):
    return attrs.evolve(release(title=title), artists=(Artist(f"id-{name}", name),))


async def test_an_announced_edit_reaches_the_open_stream_and_a_reconnection_replays_with_it(db):
    await store(db, _by("One", "one-0"), _by("Two", "two-0"))
    one, two = [await db.fetchval("SELECT id FROM artists WHERE name = $1", n) for n in ("One", "Two")]
    watch, _ = await watches.create(db, WatchChange(name="w", artists=[one]))
    async with open_gateway(db) as gw, open_sse(gw.port, f"/api/new-releases/stream?watch={watch.id}") as before:
        assert before.status == 200
        await before.frame(), await before.frame()  # retry:, then the resume point
        await watches.update(db, watch.id, WatchChange(artists=[two]))  # the edit, while the stream is open
        await gw.publish(await store(db, _by("One", "one-1")))
        [kept] = await before.events(1)  # not announced yet: the filter it connected with
        await gw.delivery.changes.changed(watch.id)
        await gw.publish(await store(db, _by("Two", "two-1")))
        [edited] = await before.events(1)
        async with open_sse(gw.port, f"/api/new-releases/stream?watch={watch.id}&last_event_id=0") as after:
            replayed = await after.events(2)
    assert kept["data"]["title"] == "one-1" and edited["data"]["title"] == "two-1"
    assert [f["data"]["title"] for f in replayed] == ["two-0", "two-1"]  # reconnected: the edited watch


async def test_an_unknown_watch_is_a_404_on_sse_and_an_error_message_on_a_websocket(db):
    unknown = "A" * 22
    async with open_gateway(db) as gw:
        async with open_sse(gw.port, f"/api/new-releases/stream?watch={unknown}") as sse:
            assert sse.status == 404
        async with open_wire_client(gw.port) as ws:
            assert (await ws.message())["event"] == "subscribed"
            await ws.stream.send_all(ws.ws.send(TextMessage(json.dumps({"subscribe": [], "watch": unknown}))))
            answer = await ws.message()
            await ws.stream.send_all(ws.ws.send(TextMessage(json.dumps({"subscribe": ["ml"]}))))
            again = await ws.message()
    assert answer["error"] == "not_found" and again["event"] == "subscribed"
