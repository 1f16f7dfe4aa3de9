"""What a crowd costs the edge, pinned where it could come back: each distinct head is read once, a
held page that only aged is refilled by one request while the crowd behind it is answered at once
(and that refill ends on every path), and each new stream's ``retry:`` is its own.

The router is driven as ``arrivals.py`` drives it (``route_nowait`` over real socket pairs), with a
read endpoint standing in for the app (``direct``), so what is answered without a task is visible:
``False`` is "answered now", a callable is "needs a task"."""

from __future__ import annotations

import re
import socket
from collections.abc import Awaitable, Callable, Iterator

import pytest
import trio

import vibed.edge.exchange as exchange
from vibed.config import Config
from vibed.delivery.admission import Admission
from vibed.delivery.hub import Hub
from vibed.delivery.replay import Replayer
from vibed.delivery.sse import StreamSettings
from vibed.edge.arrivals import Arrivals
from vibed.edge.cache import MARK, EdgeCache
from vibed.edge.exchange import RequestHead, Wire
from vibed.edge.guard import Guard
from vibed.edge.respond import Answer
from vibed.edge.router import Router

PAGE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5006\r\n\r\n"
STREAM = b"GET /api/new-releases/stream HTTP/1.1\r\nHost: 127.0.0.1:5006\r\nAccept: text/event-stream\r\n\r\n"


def page(n: int) -> Answer:
    body = b"page %d" % n
    return Answer(200, ((b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body)), (MARK, b"1")), body)


def router_with(read: Callable[[], Awaitable[Answer]], generation: list[int]) -> Router:
    hub = Hub(Admission.from_config(0, 0))
    config = Config(api_rate_limit=0, stream_limit_per_ip=0, connections_per_peer=0)
    return Router(hub, Replayer(None, hub.ring), StreamSettings(), None,  # type: ignore[arg-type]  # no app: `direct`
                  EdgeCache(lambda: generation[0], ttl=2.0), Guard.from_config(config),
                  direct=lambda key: read if key == b"/" else _never if key == b"/slow" else None)


async def _never() -> Answer:
    await trio.sleep_forever()
    raise AssertionError("unreachable")


@pytest.fixture
def pairs() -> Iterator[list[tuple[socket.socket, socket.socket]]]:
    made: list[tuple[socket.socket, socket.socket]] = []
    yield made
    for server, client in made:
        server.close()
        client.close()


def arrive(pairs: list[tuple[socket.socket, socket.socket]], data: bytes) -> tuple[RequestHead, socket.socket]:
    """A request that arrived whole on a new connection: its head, and the client's end."""
    server, client = socket.socketpair()
    server.setblocking(False)
    client.settimeout(5.0)
    pairs.append((server, client))
    head = RequestHead.read_plain(Wire(data), server, ("127.0.0.1", 40000 + len(pairs)), False)
    assert head is not None
    return head, client


def body_of(client: socket.socket) -> bytes:
    return client.recv(65536).partition(b"\r\n\r\n")[2]


async def test_as_the_held_page_ages_one_request_refills_it_and_the_crowd_behind_is_answered_at_once(
        autojump_clock, pairs):
    runs, release, generation = [0], trio.Event(), [1]

    async def read() -> Answer:
        runs[0] += 1
        if runs[0] > 1:
            await release.wait()  # the refill is under way while the crowd arrives
        return page(runs[0])

    router = router_with(read, generation)
    head, client = arrive(pairs, PAGE)
    first = router.route_nowait(head)
    assert callable(first) and await first() is False and body_of(client) == b"page 1"
    await trio.sleep(3.0)  # older than the TTL; no event was delivered

    head, refiller = arrive(pairs, PAGE)
    refill = router.route_nowait(head)
    assert callable(refill)  # this one runs the app ...
    crowd = [arrive(pairs, PAGE) for _ in range(20)]
    assert [router.route_nowait(h) for h, _ in crowd] == [False] * 20  # ... these are answered now, no task
    assert {body_of(c) for _, c in crowd} == {b"page 1"}
    async with trio.open_nursery() as nursery:
        nursery.start_soon(refill)
        await trio.sleep(0.1)
        release.set()
    assert body_of(refiller) == b"page 2" and runs[0] == 2
    head, client = arrive(pairs, PAGE)
    assert router.route_nowait(head) is False and body_of(client) == b"page 2"  # held again, refilled once


async def test_a_refill_that_fails_or_is_cancelled_ends_and_the_next_request_runs_the_app(autojump_clock, pairs):
    runs, generation = [0], [1]

    async def read() -> Answer:
        runs[0] += 1
        if runs[0] == 2:
            raise RuntimeError("the read failed")
        if runs[0] == 3:
            await trio.sleep_forever()  # cancelled below
        return page(runs[0])

    router = router_with(read, generation)
    head, _ = arrive(pairs, PAGE)
    await router.route_nowait(head)()  # type: ignore[operator]
    await trio.sleep(3.0)
    head, _ = arrive(pairs, PAGE)
    refill = router.route_nowait(head)
    assert callable(refill)
    with pytest.raises(RuntimeError):
        await refill()  # the refill fails (the connection's task ends)
    await trio.sleep(3.0)
    head, _ = arrive(pairs, PAGE)
    refill = router.route_nowait(head)
    assert callable(refill)
    with trio.move_on_after(1.0):
        await refill()  # a refill cancelled (shutdown, its connection's task cancelled)
    generation[0] = 2  # an event: requests now wait for a refill under way, if one were left behind
    head, client = arrive(pairs, PAGE)
    later = router.route_nowait(head)
    assert callable(later)
    with trio.fail_after(5.0):
        assert await later() is False
    assert body_of(client) == b"page 4" and runs[0] == 4


def test_a_crowds_identical_heads_are_read_once_and_each_request_gets_its_own_fields(monkeypatch):
    calls: list[bytes] = []
    real = exchange.read_plain

    def counting(data: bytes, start: int, limit: int):  # type: ignore[no-untyped-def]
        calls.append(data[start:])
        return real(data, start, limit)

    monkeypatch.setattr(exchange, "read_plain", counting)
    monkeypatch.setattr(exchange, "_heads", {})
    heads = [RequestHead.read_plain(Wire(STREAM), None, ("127.0.0.1", 1), False)  # type: ignore[arg-type]
             for _ in range(100)]
    assert len(calls) == 1 and all(h is not None and h.path == "/api/new-releases/stream" for h in heads)
    heads[0].headers["accept"] = "changed"  # type: ignore[union-attr]
    assert heads[1].headers["accept"] == "text/event-stream"  # type: ignore[union-attr]
    # pipelined behind a page, the same stream head is the same head
    wire = Wire(PAGE + STREAM)
    got = [RequestHead.read_plain(wire, None, ("127.0.0.1", 1), False) for _ in range(2)]  # type: ignore[arg-type]
    assert [h.target for h in got] == [b"/", b"/api/new-releases/stream"] and len(calls) == 2  # type: ignore[union-attr]
    assert wire.start == len(PAGE + STREAM)
    # one byte apart is another head; a head that is not plain is left to h11 each time, not held
    other = STREAM.replace(b"stream", b"events")
    assert RequestHead.read_plain(Wire(other), None, ("127.0.0.1", 1), False).path == "/api/new-releases/events"  # type: ignore[arg-type,union-attr]
    chunked = b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert RequestHead.read_plain(Wire(chunked), None, ("127.0.0.1", 1), False) is None  # type: ignore[arg-type]
    assert len(calls) == 4 and len(exchange._heads) == 3
    for n in range(exchange.HEADS_HELD + 10):  # a crowd of distinct heads: the memory stays bounded
        RequestHead.read_plain(Wire(b"GET /x%d HTTP/1.1\r\nHost: a\r\n\r\n" % n), None, ("::1", 1), False)  # type: ignore[arg-type]
    assert len(exchange._heads) <= exchange.HEADS_HELD
    exchange._heads.clear()
    large = b"GET /large HTTP/1.1\r\nHost: a\r\nCookie: %s\r\n\r\n" % (b"c" * exchange.HEAD_HELD_BYTES)
    assert RequestHead.read_plain(Wire(large), None, ("::1", 1), False).path == "/large"  # type: ignore[arg-type,union-attr]
    assert not exchange._heads  # read, not held: what is held stays small however large the heads


async def test_each_new_stream_gets_a_retry_of_its_own(pairs):
    async def never() -> Answer:
        raise AssertionError("a stream does not read the page")

    router = router_with(never, [1])
    retries = []
    for _ in range(30):
        head, client = arrive(pairs, STREAM)
        assert router.route_nowait(head) is True  # a live stream: the hub owns the socket now
        retries.append(int(re.search(rb"retry: (\d+)", client.recv(65536))[1]))  # type: ignore[index]
    assert all(3000 <= r <= 6000 for r in retries) and len(set(retries)) >= 25  # a crowd comes back spread out


def data_segments_sent(sock: socket.socket) -> int:
    """``tcpi_data_segs_out`` of Linux's ``struct tcp_info`` (since 4.6)."""
    return int.from_bytes(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 256)[156:160], "little")


async def test_a_page_and_the_stream_pipelined_behind_it_are_answered_in_one_segment(pairs):
    async def read() -> Answer:
        return page(1)

    router = router_with(read, [1])
    head, _ = arrive(pairs, PAGE)
    await router.route_nowait(head)()  # type: ignore[operator]  # the page is held at the edge
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_connection(listener.getsockname()) as client:
        server, peer = listener.accept()
        pairs.append((server, client))
        client.sendall(PAGE + STREAM)
        with trio.fail_after(5):
            await trio.lowlevel.wait_readable(server)
        server.setblocking(False)
        async with trio.open_nursery() as nursery:
            Arrivals(router, nursery, lambda key: None).arrive_nowait(server, peer, "", trio.current_time())
            assert router.hub.statistics().sse_clients == 1  # the stream is the hub's, no task was needed
            assert data_segments_sent(server) == 1  # both answers, one segment (not one each)
            client.settimeout(5.0)
            got = b""
            while b"retry:" not in got:
                got += client.recv(65536)
            assert got.startswith(b"HTTP/1.1 200 OK") and b"page 1" in got and got.count(b"HTTP/1.1 200") == 2
            nursery.cancel_scope.cancel()


async def test_a_page_pipelined_before_a_request_that_waits_leaves_at_once(pairs):
    async def read() -> Answer:
        return page(1)

    router = router_with(read, [1])
    head, _ = arrive(pairs, PAGE)
    await router.route_nowait(head)()  # type: ignore[operator]
    with socket.create_server(("127.0.0.1", 0)) as listener, \
            socket.create_connection(listener.getsockname()) as client:
        server, peer = listener.accept()
        pairs.append((server, client))
        client.sendall(PAGE + b"GET /slow HTTP/1.1\r\nHost: a\r\n\r\n")
        with trio.fail_after(5):
            await trio.lowlevel.wait_readable(server)
        server.setblocking(False)
        async with trio.open_nursery() as nursery:
            Arrivals(router, nursery, lambda key: None).arrive_nowait(server, peer, "", trio.current_time())
            # the slow one's task has not run yet: the page is on its way already, not held back by the cork
            assert data_segments_sent(server) == 1
            nursery.cancel_scope.cancel()
