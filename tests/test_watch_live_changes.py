"""A watch's changes reach the streams already open on it: after a PATCH the open SSE and WebSocket
streams take the new filter from the next event on; after a DELETE they end (SSE: a last comment and a
spread ``retry:``, so the reconnection meets the 404; WebSocket: a close 1000); and with Redis, a change
made on one instance reaches the streams held by another.  All over real sockets, against a running
daemon (PATCH and DELETE through the API) or two instances sharing PostgreSQL and a real Redis."""

from __future__ import annotations

import json

import attrs
import trio
from wsproto.events import TextMessage

from tests.api_support import api_config
from tests.daemon_inproc import InProcessDaemon, running_daemon
from tests.redis_support import RedisServer
from tests.stream_support import SseClient, open_gateway, open_sse, release, store
from tests.tcp_relay import open_relay
from tests.ws_support import open_wire_client
from vibed.delivery.frames import DRAIN_RETRY_MS
from vibed.store import watches
from vibed.store.watches import WatchChange
from vibed.vocab.messages import Artist

DEADLINE = 20  # seconds: generous, for a loaded machine; nothing here waits for it when all is well


def _by(name: str, title: str):
    return attrs.evolve(release(title=title), artists=(Artist(f"id-{name}", name),))


async def _artists(db, *names: str) -> list[int]:
    await store(db, *(_by(n, f"{n}-0") for n in names))
    return [await db.fetchval("SELECT id FROM artists WHERE name = $1", n) for n in names]


async def _publish(api: InProcessDaemon, db, *releases) -> None:
    await api.runtime.services.delivery.inbox.send(await store(db, *releases))


async def _watch(api: InProcessDaemon, artists: list[int]) -> tuple[str, dict[str, str]]:
    made = (await api.client.post("/api/watches", json={"artists": artists})).json()
    return made["id"], {"Authorization": f"Bearer {made['token']}"}


async def test_a_patch_reaches_the_open_sse_and_websocket_streams(db, db_url):
    one, two, _ = await _artists(db, "One", "Two", "Three")
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        watch, mine = await _watch(api, [one])
        async with open_sse(api.port, f"/api/new-releases/stream?watch={watch}") as sse, \
                open_wire_client(api.port, f"?watch={watch}") as ws, open_wire_client(api.port) as by_message:
            assert sse.status == 200 and (await ws.message())["event"] == "subscribed"
            assert (await by_message.message())["event"] == "subscribed"  # everything, until it names the watch
            await by_message.stream.send_all(by_message.ws.send(TextMessage(json.dumps({"subscribe": [],
                                                                                        "watch": watch}))))
            assert (await by_message.message())["data"]["artist"] == [one]
            patched = await api.client.patch(f"/api/watches/{watch}", json={"artists": [one, two]}, headers=mine)
            assert patched.status_code == 200
            # Three is followed by nobody: its release goes first, so the first event each stream gets
            # is Two's only when the stream took the new filter (and is not merely open to everything)
            await _publish(api, db, _by("Three", "three-1"))
            await _publish(api, db, _by("Two", "two-1"))
            [on_sse] = await sse.events(1, timeout=DEADLINE)
            on_ws = [await c.message(timeout=DEADLINE) for c in (ws, ws, by_message, by_message)]
    assert on_sse["data"]["title"] == "two-1"
    assert [m["event"] for m in on_ws] == ["subscribed", "new_release"] * 2  # the edit is confirmed first
    assert [m["data"]["title"] for m in on_ws[1::2]] == ["two-1"] * 2


async def test_a_websocket_whose_watch_was_edited_is_sent_a_new_subscribed_before_the_events_it_now_gets(db, db_url):
    """Both forms (``?watch=`` and a subscribe message): after the PATCH replaces One by Two, the next
    message is ``subscribed`` with the new filter in the first one's shape and the newest id as the resume
    point; then Two's release arrives, and neither One's (unfollowed now) nor Three's (never followed)."""
    one, two, _ = await _artists(db, "One", "Two", "Three")
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        watch, mine = await _watch(api, [one])
        async with open_wire_client(api.port, f"?watch={watch}") as by_url, open_wire_client(api.port) as by_message:
            assert (await by_message.message(timeout=DEADLINE))["data"]["artist"] == []  # everything, until ...
            await by_message.stream.send_all(by_message.ws.send(TextMessage(json.dumps({"subscribe": [],
                                                                                        "watch": watch}))))
            first = [await c.message(timeout=DEADLINE) for c in (by_url, by_message)]  # ... it names the watch
            await _publish(api, db, _by("One", "one-1"))
            before = [await c.message(timeout=DEADLINE) for c in (by_url, by_message)]
            patched = await api.client.patch(f"/api/watches/{watch}", json={"artists": [two]}, headers=mine)
            assert patched.status_code == 200
            await _publish(api, db, _by("Three", "three-1"), _by("One", "one-2"))
            await _publish(api, db, _by("Two", "two-1"))
            after = [[await c.message(timeout=DEADLINE) for _ in range(2)] for c in (by_url, by_message)]
    newest = before[0]["id"]
    assert [(m["event"], m["data"]["title"]) for m in before] == [("new_release", "one-1")] * 2
    for was, (again, event) in zip(first, after, strict=True):
        assert was["event"] == "subscribed" and was["data"]["artist"] == [one] and was["data"]["last_event_id"] < newest
        assert again == {"event": "subscribed", "data": {**was["data"], "artist": [two], "last_event_id": newest}}
        assert (event["event"], event["data"]["title"]) == ("new_release", "two-1")


async def test_a_delete_ends_the_open_streams_and_their_reconnection_is_refused(db, db_url):
    [one] = await _artists(db, "One")
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        watch, mine = await _watch(api, [one])
        target = f"/api/new-releases/stream?watch={watch}"
        async with open_sse(api.port, target) as sse, open_wire_client(api.port, f"?watch={watch}") as ws:
            assert sse.status == 200 and (await ws.message())["event"] == "subscribed"
            assert (await api.client.delete(f"/api/watches/{watch}", headers=mine)).status_code == 204
            frames = []
            with trio.fail_after(DEADLINE):
                while (frame := await sse.frame()) is not None:
                    frames.append(frame)
                await ws.until_closed()
        async with open_sse(api.port, target) as again:
            refused = again.status
    last, retry = frames[-2:]
    assert last == {"comment": "the watch was deleted"} and DRAIN_RETRY_MS[0] <= int(retry["retry"]) <= DRAIN_RETRY_MS[1]
    assert ws.closed is not None and (ws.closed.code, ws.closed.reason) == (1000, "the watch was deleted")
    assert refused == 404


async def _until(predicate, what: str) -> None:
    with trio.fail_after(DEADLINE):
        while not predicate():
            await trio.sleep(0.02)


async def test_a_change_made_on_one_instance_reaches_the_streams_of_another_over_redis(db, redis_server: RedisServer):
    one, two = await _artists(db, "One", "Two")
    watch, _ = await watches.create(db, WatchChange(name="w", artists=[one]))
    async with open_gateway(db, redis_url=redis_server.url) as a, open_gateway(db, redis_url=redis_server.url) as b:
        await _until(lambda: a.delivery.health().bus.state == b.delivery.health().bus.state == "ok", "bus ok")
        async with open_sse(b.port, f"/api/new-releases/stream?watch={watch.id}") as on_b:
            assert on_b.status == 200
            await _until(lambda: b.delivery.hub.watching(watch.id) == 1, "stream held")
            await watches.update(db, watch.id, WatchChange(artists=[one, two]))
            await a.delivery.changes.changed(watch.id)  # what a PATCH answered by A does
            await _until(lambda: b.delivery.changes.reached == 1, "B applied the change")
            await a.publish(await store(db, _by("Two", "two-1")))
            [event] = await on_b.events(1, timeout=DEADLINE)
            await watches.delete(db, watch.id)
            await a.delivery.changes.changed(watch.id)
            with trio.fail_after(DEADLINE):
                while await on_b.frame() is not None:
                    pass
    assert event["data"]["title"] == "two-1"
    assert a.delivery.changes.reached == 0 and b.delivery.changes.reached == 2  # A held no stream on it


async def _straddled(db, meanwhile) -> dict:
    """A stream reads its watch, then ``meanwhile(gw, watch_id, artists)`` changes the watch while no
    stream holds it yet, then the stream joins the hub with what it read; a release by the newly followed
    artist is published: the event the stream got."""
    one, two = await _artists(db, "One", "Two")
    watch, _ = await watches.create(db, WatchChange(name="w", artists=[one]))
    async with open_gateway(db) as gw:
        read, gate, opened = trio.Event(), trio.Event(), []

        async def read_then_wait(watch_id: str):
            found = await watches.resolve(db, watch_id)
            read.set()
            await gate.wait()  # the change happens here: after the read, before the stream joins
            return found

        gw.delivery.settings.resolve_watch.resolve = read_then_wait  # type: ignore[attr-defined]
        async with trio.open_nursery() as nursery:
            async def connect() -> None:
                opened.append(await SseClient.open(gw.port, f"/api/new-releases/stream?watch={watch.id}"))

            nursery.start_soon(connect)
            with trio.fail_after(DEADLINE):
                await read.wait()
            await meanwhile(gw, watch.id, [one, two])
            gate.set()
        [sse] = opened
        try:
            await _until(lambda: gw.delivery.changes.reached == 1, "applied again to the late stream")
            await gw.publish(await store(db, _by("Two", "two-1")))
            [event] = await sse.events(1, timeout=DEADLINE)
        finally:
            await sse.aclose()
    return event


async def test_a_stream_whose_lookup_straddles_a_change_still_gets_it(db):
    """The stream reads the watch, the change is committed and applied (no stream holds the watch yet),
    then the stream joins the hub with what it read: the change is applied to it again."""
    async def change(gw, watch_id: str, artists: list[int]) -> None:
        await watches.update(db, watch_id, WatchChange(artists=artists))
        await gw.delivery.changes.changed(watch_id)
        assert gw.delivery.changes.reached == 0  # nothing held the watch when it was applied

    event = await _straddled(db, change)
    assert event["data"]["title"] == "two-1"


async def test_a_change_made_while_redis_is_down_reaches_the_streams_of_another_instance_once_it_is_back(
        db, redis_server: RedisServer):
    """A's notices cannot go out (Redis is down when it publishes them).  When B's subscription opens
    again, B reads the three watches its streams follow in one query: the edited one's SSE and WebSocket
    streams take the new filter (the WebSocket is sent a new ``subscribed``), the deleted one's stream
    ends, and the unchanged one's stream is left alone, all without reconnecting.  (A also publishes its
    notices again once its own subscription opens: B, already up to date, reaches no stream with them.)"""
    one, two = await _artists(db, "One", "Two")
    edited, deleted, kept = [(await watches.create(db, WatchChange(name=n, artists=[one])))[0].id for n in "edk"]
    async with open_gateway(db, redis_url=redis_server.url) as a, open_gateway(db, redis_url=redis_server.url) as b:
        bus = [gw.delivery.feed for gw in (a, b)]
        await _until(lambda: all(f is not None and f.state == "ok" for f in bus), "bus ok")
        reads: list[list[str]] = []
        read_all = b.delivery.changes.resolve_all

        async def counted(ids):
            reads.append(sorted(ids))
            return await read_all(ids)

        b.delivery.changes.resolve_all = counted
        async with open_sse(b.port, f"/api/new-releases/stream?watch={edited}") as sse, \
                open_wire_client(b.port, f"?watch={edited}") as ws, \
                open_sse(b.port, f"/api/new-releases/stream?watch={deleted}") as gone, \
                open_wire_client(b.port, f"?watch={kept}") as quiet:
            assert (await ws.message(timeout=DEADLINE))["event"] == (await quiet.message(timeout=DEADLINE))["event"] \
                == "subscribed" and sse.status == gone.status == 200
            hub = b.delivery.hub
            await _until(lambda: [hub.watching(w) for w in (edited, deleted, kept)] == [2, 1, 1], "streams held")
            redis_server.kill()
            await _until(lambda: all(f is not None and f.state == "degraded" for f in bus), "bus degraded")
            lost = a.delivery.feed.unpublished  # type: ignore[union-attr]
            await watches.update(db, edited, WatchChange(artists=[one, two]))
            await a.delivery.changes.changed(edited)  # what a PATCH answered by A does
            await watches.delete(db, deleted)
            await a.delivery.changes.changed(deleted)  # and a DELETE
            await _until(lambda: a.delivery.feed.unpublished >= lost + 2, "both notices not published")  # type: ignore[union-attr]
            resyncs, read_before = b.delivery.changes.resyncs, len(reads)
            redis_server.start()  # the same port: both subscribe again
            await _until(lambda: b.delivery.changes.reached >= 3, "B resynced")  # 2 on the edited watch, 1 deleted
            await _until(lambda: all(f is not None and f.state == "ok" for f in bus), "bus ok again")
            await a.publish(await store(db, _by("Two", "two-1")))
            await a.publish(await store(db, _by("One", "one-1")))
            on_sse = await sse.events(2, timeout=DEADLINE)
            on_ws = [await ws.message(timeout=DEADLINE) for _ in range(3)]
            on_quiet = await quiet.message(timeout=DEADLINE)
            with trio.fail_after(DEADLINE):
                frames = []
                while (frame := await gone.frame()) is not None:
                    frames.append(frame)
    assert [e["data"]["title"] for e in on_sse] == ["two-1", "one-1"]
    assert on_ws[0]["event"] == "subscribed" and on_ws[0]["data"]["artist"] == [one, two]
    assert [m["data"]["title"] for m in on_ws[1:]] == ["two-1", "one-1"]
    assert (on_quiet["event"], on_quiet["data"]["title"]) == ("new_release", "one-1")  # no second subscribed
    assert {"comment": "the watch was deleted"} in frames
    assert b.delivery.changes.reached == 3  # the kept watch's stream was not reached
    assert reads[read_before] == sorted([edited, deleted, kept])  # one query for every watch followed
    assert len(reads) - read_before == b.delivery.changes.resyncs - resyncs  # and one per resync


async def test_a_stream_whose_lookup_straddles_a_resync_still_gets_the_change(db):
    """The stream reads the watch, the watch changes with its notice lost, the bus resubscribes and
    resyncs (no stream holds the watch yet), then the stream joins with what it read: its watch is
    applied again."""
    async def lost_then_resynced(gw, watch_id: str, artists: list[int]) -> None:
        await watches.update(db, watch_id, WatchChange(artists=artists))  # no notice: it was lost
        await gw.delivery.changes.resync()  # what the bus does when its subscription opens again

    event = await _straddled(db, lost_then_resynced)
    assert event["data"]["title"] == "two-1"


async def _edit_while_cut_off(db, redis_server: RedisServer, cut_off: str) -> tuple[list[dict], int]:
    """Instances A and B, one of them (``cut_off``) reaching Redis through a relay that is cut while A
    edits a watch followed by a stream on B, then restored.  Two's release, published by A once the bus
    is whole again: what B's stream got (it connected before the edit, with One only), and B's resyncs."""
    one, two = await _artists(db, "One", "Two")
    watch, _ = await watches.create(db, WatchChange(name="w", artists=[one]))
    async with open_relay(redis_server.port) as relay:
        urls = {name: relay.redis_url if name == cut_off else redis_server.url for name in "ab"}
        async with open_gateway(db, redis_url=urls["a"]) as a, open_gateway(db, redis_url=urls["b"]) as b:
            feeds = {"a": a.delivery.feed, "b": b.delivery.feed}
            await _until(lambda: all(f is not None and f.state == "ok" for f in feeds.values()), "bus ok")
            async with open_sse(b.port, f"/api/new-releases/stream?watch={watch.id}") as on_b:
                assert on_b.status == 200
                await _until(lambda: b.delivery.hub.watching(watch.id) == 1, "stream held")
                relay.cut()
                await _until(lambda: feeds[cut_off].state == "degraded", "cut off")  # type: ignore[union-attr]
                a_feed = feeds["a"]
                assert a_feed is not None
                sent, lost = a_feed.sent, a_feed.unpublished
                await watches.update(db, watch.id, WatchChange(artists=[one, two]))
                await a.delivery.changes.changed(watch.id)  # what a PATCH answered by A does
                if cut_off == "a":  # A could not tell anyone
                    await _until(lambda: a_feed.unpublished > lost, "A's notice not published")
                else:  # A told everyone, but B was not listening
                    await _until(lambda: a_feed.sent > sent, "A's notice published")
                assert b.delivery.changes.reached == 0
                relay.restore()
                await _until(lambda: b.delivery.changes.reached == 1, "B applied the change")
                await _until(lambda: all(f is not None and f.state == "ok" for f in feeds.values()), "bus ok again")
                await a.publish(await store(db, _by("Two", "two-1")))
                return await on_b.events(1, timeout=DEADLINE), b.delivery.changes.resyncs


async def test_a_change_that_an_instance_missed_while_its_subscription_was_lost_reaches_its_streams(
        db, redis_server: RedisServer):
    """B's connection to Redis is cut (the others keep theirs): A's notice goes out and B misses it.
    B's subscription opens again and B re-reads its streams' watches."""
    [event], resyncs = await _edit_while_cut_off(db, redis_server, "b")
    assert event["data"]["title"] == "two-1" and resyncs >= 1


async def test_a_change_that_an_instance_could_not_announce_is_announced_once_its_redis_is_back(
        db, redis_server: RedisServer):
    """A's connection to Redis is cut (B keeps its own, so B has no reason to re-read): A's notice
    cannot go out, and A publishes it again when its subscription opens."""
    [event], _ = await _edit_while_cut_off(db, redis_server, "a")
    assert event["data"]["title"] == "two-1"
