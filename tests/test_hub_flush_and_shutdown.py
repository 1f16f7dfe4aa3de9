"""The hub when a client's kernel buffer is full (a flusher delivers the rest, or drops a peer that stopped
reading), and at shutdown (drain, the last chunk, WebSocket listeners ended).  Real socket pairs."""

from __future__ import annotations

import re
import socket

import pytest
import trio

from vibed.delivery.admission import Admission
from vibed.delivery.client import SocketClient
from vibed.delivery.hub import Hub
from vibed.delivery.listener import Listener
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import EVERYTHING

BIG = 48 * 1024  # one event's title: a few of them fill a small socket buffer


def event(event_id: int, size: int = 10) -> StoredEvent:
    payload = {"id": event_id, "language": "ml", "kind": "album", "title": "x" * size}
    return StoredEvent(id=event_id, kind="new_release", release_id=event_id, source="jiosaavn", language="ml",
                       release_kind="album", payload=payload)


def attach(hub: Hub, *, chunked: bool = False, backlog: int = 64) -> tuple[SocketClient, socket.socket]:
    server, peer = socket.socketpair()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 16 * 1024)
    server.setblocking(False)
    assert hub.admission.admit_nowait("test") is None
    client = SocketClient(server, EVERYTHING, chunked=chunked, ip="test", backlog=backlog)
    hub.add_nowait(client)
    hub.resume_nowait(client, 0)
    return client, peer


def publish_until_full(hub: Hub, client: SocketClient) -> list[int]:
    """Publish big events until the kernel takes no more and the client waits for a flusher."""
    ids: list[int] = []
    while not client.flushing:
        ids.append(len(ids) + 1)
        hub.publish_nowait([event(ids[-1], BIG)])
        assert len(ids) < 50, "the socket buffer never filled"
    return ids


async def read_ids(peer: socket.socket, last: int) -> list[int]:
    """Read the peer's side until event ``last`` has arrived whole."""
    peer = trio.socket.from_stdlib_socket(peer)
    data = b""
    with trio.fail_after(10):
        while not data.endswith(b'"}\n\n') or f"id: {last}\n".encode() not in data:
            chunk = await peer.recv(1 << 20)
            assert chunk, "the hub closed the stream"
            data += chunk
    return [int(n) for n in re.findall(rb"^id: (\d+)$", data, re.M)]


@pytest.fixture
async def hub():
    hub = Hub(Admission(100), heartbeat=15.0, backlog=64, stall_timeout=30.0)
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.serve)
        yield hub
        nursery.cancel_scope.cancel()


async def test_a_full_socket_gets_a_flusher_and_the_reader_gets_every_event_once_in_order(hub):
    client, peer = attach(hub)
    ids = publish_until_full(hub, client)
    assert hub.statistics().flushing == 1 and client.pending
    ids += [ids[-1] + 1, ids[-1] + 2]
    hub.publish_nowait([event(ids[-2], BIG), event(ids[-1], BIG)])  # queued behind the rest
    assert await read_ids(peer, ids[-1]) == ids
    with trio.fail_after(5):
        await hub.drain()  # the flusher wrote everything and ended
    assert hub.statistics().flushing == 0 and client.pending is None and not client.closed
    hub.publish_nowait([event(ids[-1] + 1)])  # straight to the socket again
    assert await read_ids(peer, ids[-1] + 1) == [ids[-1] + 1]
    peer.close()


async def test_a_peer_that_stops_reading_is_dropped_by_its_flusher_after_the_stall_timeout(hub, autojump_clock):
    client, peer = attach(hub)
    publish_until_full(hub, client)
    start = trio.current_time()
    with trio.fail_after(60):
        await hub.drain()
    assert trio.current_time() - start == pytest.approx(30.0)
    assert client.closed and hub.statistics().slow_drops == 1 and hub.admission.open == 0
    assert hub.statistics().sse_clients == 0
    peer.close()


async def test_a_client_that_writes_to_its_stream_is_read_and_kept(hub):
    client, peer = attach(hub)
    peer.sendall(b"hello, anyone?")
    peer.setblocking(False)
    with trio.fail_after(5):  # the hub reads what the client said and discards it
        while True:
            try:
                client.sock.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                break
            await trio.sleep(0.01)
    hub.publish_nowait([event(1)])
    assert await read_ids(peer, 1) == [1]
    assert not client.closed
    peer.close()


async def test_shutdown_ends_each_chunked_stream_with_the_last_chunk_and_every_listener():
    hub = Hub(Admission(100))
    chunked, chunked_peer = attach(hub, chunked=True)
    plain, plain_peer = attach(hub)
    send, receive = trio.open_memory_channel[StoredEvent](4)
    listener = Listener(EVERYTHING, send)
    hub.listen_nowait(listener)
    assert hub.statistics().ws_clients == 1
    await hub.drain()  # nothing in flight: returns at once
    hub.close_all_nowait()
    # each stream's last words: a reconnection delay drawn from the drain range, then the end of the body
    chunked_end, plain_end = chunked_peer.recv(100), plain_peer.recv(100)
    assert chunked_end.endswith(b"\n\n\r\n0\r\n\r\n") and chunked_peer.recv(100) == b""
    assert plain_end.startswith(b"retry: ") and plain_peer.recv(100) == b""  # HTTP/1.0: then the close
    for end in (chunked_end, plain_end):
        assert 2000 <= int(re.search(rb"retry: (\d+)\n\n", end).group(1)) <= 15000
    assert (chunked.closed, plain.closed, listener.ended) == (True, True, "shutdown")
    with pytest.raises(trio.EndOfChannel):
        await receive.receive()
    late_send, late_receive = trio.open_memory_channel[StoredEvent](4)
    late = Listener(EVERYTHING, late_send)
    hub.listen_nowait(late)  # a WebSocket that arrives while the hub closes is ended at once
    assert late.ended == "shutdown" and hub.statistics().ws_clients == 0
    hub.drop_nowait(plain)  # a second drop is a no-op
    assert hub.admission.open == 0
    for peer in (chunked_peer, plain_peer):
        peer.close()


async def test_a_websocket_listener_whose_channel_is_full_is_ended_as_slow():
    hub = Hub(Admission(100))
    send, receive = trio.open_memory_channel[StoredEvent](1)
    listener = Listener(EVERYTHING, send)
    hub.listen_nowait(listener)
    hub.publish_nowait([event(1), event(2)])
    assert listener.ended == "slow" and hub.statistics().slow_drops == 1 and hub.statistics().ws_clients == 0
    assert (await receive.receive()).id == 1
    with pytest.raises(trio.EndOfChannel):
        await receive.receive()
