"""Opening a stream costs little per connection, and stays right for every kind of request: heads
rendered once and copied (per HTTP version, Connection header, CORS), over real sockets."""

from __future__ import annotations

import trio

from tests.http_wire import raw_clients
from tests.stream_support import open_gateway

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
    assert b"\r\n\r\nretry: 3000\n\n" in heads["http/1.0"]  # close-delimited: the frame as it is
    closing = {name for name, head in heads.items() if b"connection: close" in head}
    assert closing == {"http/1.0", "close"}
    with_cors = {name for name, head in heads.items() if b"access-control-allow-origin: https://app.example" in head}
    assert with_cors == {"origin"}
    remaining = [head.split(b"ratelimit-remaining: ")[1].split(b"\r\n")[0] for head in heads.values()]
    assert remaining == [b"119", b"118", b"117", b"116", b"115"]
