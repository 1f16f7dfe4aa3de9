"""Opening a stream costs little per connection and stays right for every kind of request, over real
sockets: heads rendered once and copied (per HTTP version, Connection header, CORS); connections
served without a task of their own until they have to wait (arrivals.py), whether their request
comes whole, in pieces, or pipelined behind a page the edge holds; silent ones still end."""

from __future__ import annotations

import socket

import trio

from tests.http_wire import raw_clients, read_all, read_responses, request
from tests.stream_support import open_gateway, release, store
from vibed.edge.connection import Timeouts

STREAM = b"GET /api/new-releases/stream HTTP/1.1\r\nHost: t\r\n"


async def stream_head(connect, raw: bytes) -> bytes:
    """The response head of a stream request, and its first frame."""
    stream = await connect()
    await stream.send_all(raw)
    data = b""
    with trio.fail_after(5):
        while b"retry:" not in data:
            data += await stream.receive_some(65536)
    return data.lower()


async def test_stream_heads_copied_within_a_second_still_follow_each_request(db):
    # the API limit is on (its RateLimit-* headers differ from request to request), CORS too
    kinds = {
        "http/1.1": STREAM + b"\r\n",
        "http/1.0": b"GET /api/new-releases/stream HTTP/1.0\r\n\r\n",
        "origin": STREAM + b"Origin: https://app.example\r\n\r\n",
        "close": STREAM + b"Connection: close\r\n\r\n",
        "http/1.1 again": STREAM + b"\r\n",
    }
    async with open_gateway(db, cors_origins=["https://app.example"]) as gw, raw_clients(gw.port) as connect:
        heads = {name: await stream_head(connect, raw) for name, raw in kinds.items()}
    for name, head in heads.items():
        assert head.startswith(b"http/1.1 200 ") and b"content-type: text/event-stream" in head, name
        assert b"x-content-type-options: nosniff" in head, name
    chunked = {name for name, head in heads.items() if b"transfer-encoding: chunked" in head}
    assert chunked == {"http/1.1", "origin", "close", "http/1.1 again"}
    assert b"\r\n\r\nretry: " in heads["http/1.0"]  # close-delimited: the frame as it is
    closing = {name for name, head in heads.items() if b"connection: close" in head}
    assert closing == {"http/1.0", "close"}
    with_cors = {name for name, head in heads.items() if b"access-control-allow-origin: https://app.example" in head}
    assert with_cors == {"origin"}
    remaining = [head.split(b"ratelimit-remaining: ")[1].split(b"\r\n")[0] for head in heads.values()]
    assert remaining == [b"119", b"118", b"117", b"116", b"115"]


async def wait_for(condition, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not condition():
            await trio.sleep(0.01)


async def test_a_crowd_waiting_for_its_first_bytes_and_then_streaming_holds_no_task_per_connection(db):
    async with open_gateway(db, api_rate_limit=0, stream_limit_per_ip=0) as gw, raw_clients(gw.port) as connect:
        hub = gw.delivery.hub
        before = trio.lowlevel.current_statistics().tasks_living
        crowd = [await connect() for _ in range(60)]  # connected, nothing sent yet
        await trio.sleep(0.2)
        waiting = trio.lowlevel.current_statistics().tasks_living
        for stream in crowd:
            await stream.send_all(STREAM + b"Accept: text/event-stream\r\n\r\n")
        await wait_for(lambda: hub.statistics().sse_clients == 60)
        streaming = trio.lowlevel.current_statistics().tasks_living
        await gw.publish(await store(db, release()))
        for stream in crowd:
            data = b""
            with trio.fail_after(5):
                while b"event: new_release" not in data:
                    data += await stream.receive_some(65536)
    # the clients' own tasks (raw_clients opens none) and the server's: a handful at most, not 60
    assert waiting - before <= 5 and streaming - before <= 5, (before, waiting, streaming)


async def test_a_request_in_pieces_and_a_page_held_at_the_edge_pipelined_before_a_stream(db):
    async with open_gateway(db, api_rate_limit=0) as gw, raw_clients(gw.port) as connect:
        hub = gw.delivery.hub
        warm = await connect()
        await warm.send_all(request("GET", "/api/held"))
        await read_responses(warm, ["GET"])  # the edge holds /api/held now
        pieces = await connect()
        await pieces.send_all(b"GET /api/new-releases/stream HT")
        await trio.sleep(0.1)
        await pieces.send_all(b"TP/1.1\r\nHost: t\r\n\r\n")
        pipelined = await connect()  # as a browser: the page, then its EventSource on the same connection
        await pipelined.send_all(request("GET", "/api/held") + request("GET", "/api/held")
                                 + request("GET", "/api/new-releases/stream?language=ml"))
        await wait_for(lambda: hub.statistics().sse_clients == 2)
        events = await store(db, release("ml"))
        await gw.publish(events)
        received = {}
        for name, stream in (("pieces", pieces), ("pipelined", pipelined)):
            data = b""
            with trio.fail_after(5):
                while b"event: new_release" not in data:
                    data += await stream.receive_some(65536)
            received[name] = data
    assert gw.app.extensions["renders"] == 1  # both pages came from the edge
    first, second, sse = received["pipelined"].split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and first.endswith(b'{"n": 1}') and second.endswith(b'{"n": 1}')
    assert sse.startswith(b"200 ") and b"text/event-stream" in sse and b"id: %d\n" % events[0].id in sse
    assert received["pieces"].startswith(b"HTTP/1.1 200 ") and b"id: %d\n" % events[0].id in received["pieces"]


async def test_a_long_pipeline_is_answered_in_order_past_what_is_served_without_a_task(db):
    async with open_gateway(db, api_rate_limit=0) as gw, raw_clients(gw.port) as connect:
        warm = await connect()
        await warm.send_all(request("GET", "/api/held"))
        await read_responses(warm, ["GET"])
        stream = await connect()
        await stream.send_all(b"".join(request("GET", "/api/held") for _ in range(11)) + request("GET", "/api/ping")
                              + request("GET", "/api/held", "Connection: close"))
        answers = await read_responses(stream, ["GET"] * 13)
    assert [a.json() for a in answers] == [{"n": 1}] * 11 + [{"pong": True, "lifespan_runs": 1}, {"n": 1}]
    assert answers[-1].headers["connection"] == "close"


async def test_a_connection_that_sends_nothing_ends_after_the_head_timeout_or_at_shutdown(db):
    async with open_gateway(db, timeouts=Timeouts(head=0.3)) as gw, raw_clients(gw.port) as connect:
        silent = await connect()
        with trio.fail_after(3):
            data, closed = await read_all(silent, timeout=3)
        assert (data, closed) == (b"", True)
    async with open_gateway(db, timeouts=Timeouts(head=60)) as gw, raw_clients(gw.port) as connect:
        silent = await connect()
        await trio.sleep(0.1)
        gw.stop.set()
        with trio.fail_after(2):  # not the 60 s head timeout
            data, closed = await read_all(silent, timeout=2)
        assert (data, closed) == (b"", True)


async def test_every_accepted_socket_has_nodelay_from_the_listener(db):
    async with open_gateway(db, api_rate_limit=0) as gw, raw_clients(gw.port) as connect:
        hub = gw.delivery.hub
        for _ in range(3):
            stream = await connect()
            await stream.send_all(STREAM + b"\r\n")
        await wait_for(lambda: hub.statistics().sse_clients == 3)
        socks = [client.sock for client in list(hub._by_fd.values())]
        # a frame must leave at once, not wait for the previous one's ACK (Nagle)
        assert [s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in socks] == [1, 1, 1]
