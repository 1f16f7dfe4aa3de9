"""Streams under abuse, on real sockets: one address opening a thousand streams, and hundreds of
clients that stop reading.  The daemon refuses or sheds them and everyone else is unaffected."""

from __future__ import annotations

import socket

import trio

from tests.faults.conftest import record
from tests.stream_support import open_gateway, open_sse, release, store


async def _open_stream(port: int, source: str) -> tuple[trio.SocketStream, bytes]:
    sock = trio.socket.socket()
    await sock.bind((source, 0))
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    await stream.send_all(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: t\r\n\r\n")
    with trio.fail_after(10):
        first = await stream.receive_some(4096)
    # a stream the server will not hold is a 200 that says why and when to come back, then ends
    return stream, b"refused" if b"already holds" in first else first[9:12]


async def test_a_thousand_stream_opens_from_one_address_leave_other_addresses_unaffected(db):
    # the stream limit's scenario: the cap on connections per peer (tests/test_edge_peers.py) is off here
    async with open_gateway(db, stream_limit_per_ip=20, api_rate_limit=0, connections_per_peer=0) as gw:
        held: list[trio.SocketStream] = []
        try:
            statuses = []
            for _ in range(1000):
                stream, status = await _open_stream(gw.port, "127.0.0.1")
                held.append(stream)
                statuses.append(status)
            other, other_status = await _open_stream(gw.port, "127.0.0.2")  # another client
            held.append(other)
            events = await store(db, release(title="for everyone"))
            await gw.publish(events)
            received = b""
            with trio.fail_after(5):
                while b"for everyone" not in received:
                    received += await other.receive_some(65536)
        finally:
            for stream in held:
                await stream.aclose()
    assert statuses.count(b"200") == 20 and statuses.count(b"refused") == 980
    assert other_status == b"200"
    record("1,000 stream opens from one address", "20 served (the per-IP limit), 980 told to come back "
                                                  "(200, a comment and a spread retry:, then the end); "
                                                  "another address served and its event delivered")


async def test_five_hundred_clients_that_stop_reading_are_dropped_and_their_memory_returns(db):
    async with open_gateway(db, heartbeat=0.2, stream_stall_timeout=1.0, stream_limit_per_ip=0,
                            api_rate_limit=0) as gw, \
            open_sse(gw.port) as reader:
        stalled: list[socket.socket] = []
        try:
            for _ in range(500):
                sock = socket.socket()
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # a window soon shut
                sock.setblocking(False)
                try:
                    sock.connect(("127.0.0.1", gw.port))
                except BlockingIOError:
                    pass
                await trio.lowlevel.wait_writable(sock)
                sock.send(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: t\r\n\r\n")
                stalled.append(sock)
            hub = gw.delivery.hub
            with trio.fail_after(10):
                while hub.statistics().sse_clients < 501:
                    await trio.sleep(0.02)
            stored = await store(db, *(release(title="z" * 900) for _ in range(60)))
            await gw.publish(stored)
            await reader.events(60)  # the reading client got everything
            started = trio.current_time()
            with trio.fail_after(10):
                while hub.statistics().sse_clients > 1:
                    await trio.sleep(0.05)
            took = trio.current_time() - started
            stats = hub.statistics()
        finally:
            for sock in stalled:
                sock.close()
    assert took < 3.0  # stall timeout 1 s, checked at each 0.2 s heartbeat
    assert stats.sse_clients == 1 and stats.slow_drops == 500 and stats.flushing == 0
    record("500 stream clients that stop reading", f"all 500 dropped {took:.1f} s after their windows shut "
                                                   "(stall timeout 1 s here, 30 s by default); nothing left queued; "
                                                   "the reading client got every event")
