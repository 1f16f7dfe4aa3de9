"""The edge speaks HTTP/1.1 correctly on real sockets: keep-alive, pipelining, HTTP/1.0, HEAD,
100-continue, chunked bodies, limits and timeouts that close the socket, one error shape."""

from __future__ import annotations

import json

import trio

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, read_responses, request
from tests.stream_support import open_gateway, open_sse, release, store
from vibed.edge.connection import Timeouts


async def test_keep_alive_serves_request_after_request_until_connection_close(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/api/ping"))
        [first] = await read_responses(stream, ["GET"])
        await stream.send_all(request("GET", "/api/ping"))
        [second] = await read_responses(stream, ["GET"])
        await stream.send_all(request("GET", "/api/ping", "Connection: close"))
        rest, closed = await read_all(stream)
    [third] = parse(rest, ["GET"])
    assert [a.status for a in (first, second, third)] == [200, 200, 200]
    assert "connection" not in first.headers and third.headers["connection"] == "close" and closed


async def test_pipelined_requests_are_answered_in_order(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        # a slow answer first: the quick ones behind it must still come after it
        await stream.send_all(request("GET", "/api/slow") + request("GET", "/api/ping") + request("HEAD", "/api/held")
                              + request("POST", "/api/echo", "Content-Length: 5", body=b"hello"))
        answers = await read_responses(stream, ["GET", "GET", "HEAD", "POST"])
    assert [a.json() if a.body else None for a in answers] == [
        {"slow": True}, {"pong": True, "lifespan_runs": 1}, None, {"echo": "hello"}]
    assert answers[2].status == 200 and int(answers[2].headers["content-length"]) > 0  # HEAD: the GET's length


async def test_http_1_0_is_answered_and_then_closed(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"GET /api/ping HTTP/1.0\r\n\r\n")
        data, closed = await read_all(stream)
    assert data.startswith(b"HTTP/1.1 200 ") and closed
    assert b'"pong":true' in data


async def test_head_answers_carry_the_headers_of_get_and_no_body(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/api/held") + request("HEAD", "/api/held"))
        get, head = await read_responses(stream, ["GET", "HEAD"])
    assert head.body == b"" and get.body
    assert head.headers["etag"] == get.headers["etag"]
    assert head.headers["content-length"] == get.headers["content-length"] == str(len(get.body))


async def test_expect_100_continue_gets_100_before_the_body_is_sent(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("POST", "/api/echo", "Content-Length: 3", "Expect: 100-continue"))
        first = await stream.receive_some(65536)
        assert first.startswith(b"HTTP/1.1 100 ")
        await stream.send_all(b"abc")
        [answer] = await read_responses(stream, ["POST"])
        # too large: refused at once, without a 100, and the connection ends
        refused = await connect()
        await refused.send_all(request("POST", "/api/echo", "Content-Length: 999999", "Expect: 100-continue"))
        data, closed = await read_all(refused)
    assert answer.json() == {"echo": "abc"}
    [too_big] = parse(data, ["POST"])
    assert not too_big.informational and closed
    assert_json_error(too_big, 413, "payload_too_large")


async def test_chunked_request_bodies_are_read_and_capped(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("POST", "/api/echo", "Transfer-Encoding: chunked",
                                      body=b"3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n"))
        [answer] = await read_responses(stream, ["POST"])
        big = await connect()
        chunk = b"x" * 40_000
        await big.send_all(request("POST", "/api/echo", "Transfer-Encoding: chunked",
                                   body=(b"%x\r\n%s\r\n" % (len(chunk), chunk)) * 2))
        data, closed = await read_all(big)
    assert answer.json() == {"echo": "abcdefg"}
    [too_big] = parse(data, ["POST"])
    assert_json_error(too_big, 413, "payload_too_large")
    assert closed


async def test_a_head_over_32_kib_is_431_and_closes_even_when_it_arrives_at_once(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        results = []
        for size in (40_000, 32 * 1024 + 10):  # one write each: the whole head is in the first read
            stream = await connect()
            await stream.send_all(request("GET", "/api/ping", "X-Big: " + "a" * size))
            results.append(await read_all(stream))
        ok = await connect()
        await ok.send_all(request("GET", "/api/ping", "X-Big: " + "a" * 30_000))
        [fits] = await read_responses(ok, ["GET"])
    for data, closed in results:
        [answer] = parse(data, ["GET"])
        assert_json_error(answer, 431, "header_too_large")
        assert closed
    assert fits.status == 200


async def test_a_malformed_request_is_400_json_and_closes(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"GET /api/ping HTTP/1.1\r\nHost: t\r\nBad Header Line\r\n\r\n")
        data, closed = await read_all(stream)
    [answer] = parse(data, ["GET"])
    assert_json_error(answer, 400, "bad_request")
    assert closed


async def test_a_stalled_head_or_body_is_408_and_closes_an_idle_connection_just_ends(db):
    timeouts = Timeouts(head=0.4, idle=0.6, body=0.4)
    async with open_gateway(db, timeouts=timeouts) as gw, raw_clients(gw.port) as connect:
        head = await connect()
        await head.send_all(b"GET /api/ping HTTP/1.1\r\nHost: t\r\n")  # never finished
        body = await connect()
        await body.send_all(request("POST", "/api/echo", "Content-Length: 10", body=b"abc"))
        idle = await connect()
        await idle.send_all(request("GET", "/api/ping"))
        [served] = await read_responses(idle, ["GET"])
        (head_data, head_closed), (body_data, body_closed), (idle_data, idle_closed) = [
            await read_all(s, timeout=3) for s in (head, body, idle)]
        # the same holds after a first request: the slow client gets no second chance
        later = await connect()
        await later.send_all(request("GET", "/api/ping") + b"GET /api/ping HTTP/1.1\r\n")
        later_data, later_closed = await read_all(later, timeout=3)
    assert_json_error(parse(head_data, ["GET"])[0], 408, "request_timeout")
    assert_json_error(parse(body_data, ["POST"])[0], 408, "request_timeout")
    assert served.status == 200 and idle_data == b"" and idle_closed
    assert head_closed and body_closed
    ok, timed_out = parse(later_data, ["GET", "GET"])
    assert ok.status == 200 and timed_out.status == 408 and later_closed


async def test_errors_are_one_json_shape_with_security_headers(db):
    async with open_gateway(db, max_streams=1) as gw, open_sse(gw.port), raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/nothing") + request("POST", "/api/new-releases/stream")
                              + request("GET", "/api/new-releases/stream?language=xx")
                              + request("GET", "/api/new-releases/stream"))
        missing, post, bad, full = await read_responses(stream, ["GET", "POST", "GET", "GET"])
    assert_json_error(missing, 404, "not_found")
    assert_json_error(post, 405, "method_not_allowed")
    assert post.headers["allow"] == "GET, HEAD"
    assert_json_error(bad, 400, "unknown_language")
    # a stream the server cannot hold is no error to an EventSource (it would give up for good): a 200
    # that says why in a comment and when to come back in a ``retry:``, and ends
    assert full.status == 200 and full.headers["content-type"].startswith("text/event-stream")
    assert full.body.startswith(b": the server holds its maximum of 1 streams\n\nretry: ")


async def test_a_stream_after_other_requests_on_its_connection_is_a_hub_client(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        # as a browser does: the page, then (pipelined here) the EventSource on the same connection
        await stream.send_all(request("GET", "/api/ping") + request("GET", "/api/held")
                              + request("GET", "/api/new-releases/stream?language=ml"))
        received = b""
        with trio.fail_after(5):
            while gw.delivery.hub.statistics().sse_clients != 1:
                await trio.sleep(0.01)
            await gw.publish(await store(db, release("ml")))
            while b"event: new_release" not in received:
                received += await stream.receive_some(65536)
    ping, held, sse = received.split(b"HTTP/1.1 ")[1:]
    assert ping.startswith(b"200 ") and b'"pong":true' in ping and held.startswith(b"200 ")
    assert sse.startswith(b"200 ") and b"text/event-stream" in sse
    assert b"x-content-type-options: nosniff" in sse  # the stream's head is an answer like any other
    data = sse.split(b"data: ", 1)[1].split(b"\n", 1)[0]
    assert json.loads(data)["language"] == "ml"


async def test_shutdown_closes_idle_keep_alive_connections_at_once(db):
    async with open_gateway(db, timeouts=Timeouts(idle=60)) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/api/ping"))
        await read_responses(stream, ["GET"])
        gw.stop.set()
        with trio.fail_after(2):  # not the 60 s idle timeout
            data, closed = await read_all(stream, timeout=2)
    assert data == b"" and closed


async def test_if_modified_since_is_answered_from_last_modified_unless_an_etag_is_asked(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(
            request("GET", "/api/dated", "If-Modified-Since: Sun, 29 Nov 2026 10:00:00 GMT")  # later: unchanged
            + request("GET", "/api/dated", "If-Modified-Since: Sat, 28 Nov 2026 10:00:00 GMT")  # earlier: changed
            + request("GET", "/api/dated", "If-Modified-Since: Sun, 29 Nov 2026 10:00:00 GMT",
                      'If-None-Match: "other"'))  # If-None-Match decides when both are sent
        later, earlier, both = await read_responses(stream, ["GET", "GET", "GET"])
    assert later.status == 304 and later.headers["last-modified"] == "Sun, 29 Nov 2026 09:00:00 GMT"
    assert earlier.status == 200 and both.status == 200
