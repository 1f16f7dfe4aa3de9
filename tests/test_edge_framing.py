"""The edge refuses what a proxy and the edge could read two ways, on real sockets: both body lengths
(the smuggling shape), chunked HTTP/1.0, an overlong target (414), and methods that are not exactly
one of the known tokens (501); a known method on a route without it stays the app's 405."""

from __future__ import annotations

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, read_responses, request
from tests.stream_support import open_gateway

SMUGGLED = request("GET", "/api/ping")


async def test_content_length_with_transfer_encoding_is_400_and_nothing_after_it_is_read(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        # a front proxy framing by Content-Length sees one POST; chunked framing would see a second request
        body = b"0\r\n\r\n" + SMUGGLED
        await stream.send_all(request("POST", "/api/echo", f"Content-Length: {len(body)}",
                                      "Transfer-Encoding: chunked", body=body))
        data, closed = await read_all(stream)
    answers = parse(data, ["POST", "GET"])
    assert len(answers) == 1 and closed, answers  # the smuggled GET was never answered
    assert_json_error(answers[0], 400, "ambiguous_framing")


async def test_a_bodiless_looking_get_with_both_lengths_is_400_too_not_taken_by_the_plain_path(db):
    # a GET is the shape the edge's h11-free path (vibed/plain_http.py) reads: it must leave this head to h11
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        body = b"0\r\n\r\n" + SMUGGLED
        await stream.send_all(request("GET", "/api/ping", f"Content-Length: {len(body)}",
                                      "Transfer-Encoding: chunked", body=body))
        data, closed = await read_all(stream)
    answers = parse(data, ["GET", "GET"])
    assert len(answers) == 1 and closed, answers  # the smuggled GET was never answered
    assert_json_error(answers[0], 400, "ambiguous_framing")


async def test_http_1_0_with_transfer_encoding_is_400_not_decoded_as_chunked(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("POST", "/api/echo", "Transfer-Encoding: chunked", version="1.0",
                                      body=b"3\r\nabc\r\n0\r\n\r\n"))
        data, closed = await read_all(stream)
    [answer] = parse(data, ["POST"])
    assert_json_error(answer, 400, "ambiguous_framing")
    assert closed


async def test_methods_are_case_sensitive_unknown_is_501_and_a_wrong_route_is_405(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("head", "/api/ping") + request("FOO", "/api/ping")
                              + request("get", "/api/ping") + request("CONNECT", "example.com:443")
                              + request("DELETE", "/api/ping") + request("TRACE", "/api/ping")
                              + request("GET", "/api/ping"))
        lower_head, foo, lower_get, connect_, delete, trace, ok = await read_responses(
            stream, ["GET", "GET", "GET", "GET", "DELETE", "TRACE", "GET"])
    for answer in (lower_head, foo, lower_get, connect_):
        assert_json_error(answer, 501, "not_implemented")
    for answer in (delete, trace):
        assert_json_error(answer, 405, "method_not_allowed")
        assert "GET" in answer.headers["allow"]
    assert ok.status == 200  # the connection outlived every refusal


async def test_a_target_over_32_kib_is_414_and_a_head_over_it_with_a_short_target_stays_431(db):
    long_target = "/api/ping?x=" + "a" * (33 * 1024)
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        results = []
        at_once = await connect()  # the whole head in one read: parsed, then measured
        await at_once.send_all(request("GET", long_target))
        results.append(await read_all(at_once))
        in_pieces = await connect()  # no line end within 32 KiB: h11 gives up before the head ends
        await in_pieces.send_all(f"GET {long_target}".encode())
        results.append(await read_all(in_pieces))
        headers = await connect()
        await headers.send_all(request("GET", "/api/ping", "X-Big: " + "a" * 40_000))
        big_headers, headers_closed = await read_all(headers)
    for data, closed in results:
        [answer] = parse(data, ["GET"])
        assert_json_error(answer, 414, "uri_too_long")
        assert closed
    assert_json_error(parse(big_headers, ["GET"])[0], 431, "header_too_large")
    assert headers_closed
