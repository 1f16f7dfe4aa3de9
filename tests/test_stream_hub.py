"""The hub on its own (socket pairs, no database): heartbeats, filters, pause/resume, hang-ups."""

from __future__ import annotations

import socket

import pytest
import trio

from vibed.delivery.admission import Admission
from vibed.delivery.client import SocketClient
from vibed.delivery.hub import Hub
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import EVERYTHING, parse_filter


def event(event_id: int, language: str = "ml", kind: str = "album") -> StoredEvent:
    payload = {"id": event_id, "source": "jiosaavn", "language": language, "kind": kind, "title": f"t{event_id}"}
    return StoredEvent(id=event_id, kind="new_release", release_id=event_id, source="jiosaavn",
                       language=language, release_kind=kind, payload=payload)


def attach(hub: Hub, stream_filter=EVERYTHING, floor: int | None = 0) -> tuple[SocketClient, trio.socket.SocketType]:
    server, peer = socket.socketpair()
    server.setblocking(False)
    assert hub.admission.admit_nowait("test") is None
    client = SocketClient(server, stream_filter, chunked=False, ip="test", backlog=4)
    hub.add_nowait(client)
    if floor is not None:
        hub.resume_nowait(client, floor)
    return client, trio.socket.from_stdlib_socket(peer)


async def read_available(peer: trio.socket.SocketType) -> bytes:
    out = b""
    with trio.move_on_after(0.05):
        while True:
            out += await peer.recv(65536)
    return out


@pytest.fixture
async def hub():
    hub = Hub(Admission(100), heartbeat=15.0, backlog=4)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.serve)
        yield hub
        nursery.cancel_scope.cancel()


async def test_heartbeat_comment_every_period(hub, autojump_clock):
    _client, peer = attach(hub)
    start = trio.current_time()
    for n in (1, 2):
        assert await peer.recv(100) == b": hb\n\n"
        assert trio.current_time() - start == pytest.approx(15.0 * n)
    peer.close()


async def test_each_event_goes_to_matching_filters_only(hub):
    _a, ml = attach(hub, parse_filter({"language": "ml"}))
    _b, hi_songs = attach(hub, parse_filter({"language": "hi", "kind": "song"}))
    _c, everything = attach(hub)
    hub.publish_nowait([event(1, "ml"), event(2, "hi", "song"), event(3, "hi", "album")])
    assert (await read_available(ml)).count(b"event: new_release") == 1
    assert b"id: 2\n" in await read_available(hi_songs)
    assert (await read_available(everything)).count(b"event: new_release") == 3
    for peer in (ml, hi_songs, everything):
        peer.close()


async def test_a_paused_client_queues_and_resume_drops_what_replay_covered(hub):
    client, peer = attach(hub, floor=None)
    hub.publish_nowait([event(5), event(6), event(7)])
    assert await read_available(peer) == b""  # paused during replay
    hub.resume_nowait(client, floor=6)
    data = await read_available(peer)
    assert b"id: 7\n" in data and b"id: 5\n" not in data and b"id: 6\n" not in data
    hub.publish_nowait([event(6), event(8)])  # a late copy at or below the floor is never sent
    assert b"id: 6\n" not in (data := await read_available(peer)) and b"id: 8\n" in data
    peer.close()


async def test_a_paused_client_past_its_backlog_is_dropped(hub):
    client, peer = attach(hub, floor=None)
    hub.publish_nowait([event(i) for i in range(1, 7)])
    assert client.closed and hub.statistics().slow_drops == 1 and hub.admission.open == 0
    peer.close()


async def test_a_client_that_hangs_up_is_noticed_without_writing_to_it(hub):
    client, peer = attach(hub)
    assert hub.statistics().sse_clients == 1
    peer.close()
    with trio.fail_after(10):  # a ceiling: noticed at the next poll of the socket
        while not client.closed:
            await trio.sleep(0.01)
    assert hub.statistics().sse_clients == 0 and hub.admission.open == 0
