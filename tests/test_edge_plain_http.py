"""The plain reader (vibed/plain_http.py) against h11: what it takes, h11 reads alike; every hostile or
unusual head goes to h11 (None), which refuses it as before; its answers are h11's bytes.  Then the
same over a real socket: a crowd's pipelined page and stream, and hostile heads after a plain one."""

from __future__ import annotations

import h11
import pytest
import trio
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, request
from tests.stream_support import open_gateway
from vibed.edge.framing import HEAD_LIMIT
from vibed.edge.respond import Answer, decorated, error_answer, reason, render
from vibed.plain_http import read_plain, render_plain

PLAIN = b"GET /api/new-releases/stream?language=ml HTTP/1.1\r\nHost: 127.0.0.1:5006\r\nAccept: text/event-stream\r\n\r\n"


def h11_reads(data: bytes) -> h11.Request | str:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
    conn.receive_data(data)
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        return f"refused {exc.error_status_hint}"
    return event if isinstance(event, h11.Request) else repr(event)


def assert_read_alike(data: bytes) -> bool:
    """True when the plain reader took ``data``; then h11 reads the same request, kept alive."""
    plain = read_plain(data, 0, HEAD_LIMIT)
    if plain is None:
        return False
    got = h11_reads(data)
    assert isinstance(got, h11.Request), (data, got)
    assert (got.method, got.target, got.http_version) == (plain.method, plain.target, b"1.1")
    assert list(got.headers) == list(plain.headers)
    assert b"close" not in b",".join(v for k, v in got.headers if k == b"connection").lower()
    assert plain.end == data.index(b"\r\n\r\n") + 4
    return True


# each is refused by h11 or by the edge, or needs h11's machinery (a body, an upgrade, a rewrite)
HOSTILE = {
    "both lengths (smuggling)": b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET with a body length": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello",
    "GET chunked": b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "duplicate Content-Length": b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
    "Transfer-Encoding with spaces": b"GET / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding : chunked\r\n\r\n",
    "obs-fold": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n",
    "obs-fold with a tab": b"GET / HTTP/1.1\r\nHost: a\r\nX-A: b\r\n\tc\r\n\r\n",
    "fold at the start": b"GET / HTTP/1.1\r\n Host: a\r\n\r\n",
    "bare LF line end": b"GET / HTTP/1.1\nHost: a\n\n",
    "bare LF inside": b"GET / HTTP/1.1\r\nHost: a\nX: b\r\n\r\n",
    "bare CR": b"GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
    "CR CR LF": b"GET / HTTP/1.1\r\nHost: a\r\r\n\r\n",
    "NUL in a value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n",
    "control in a value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x01b\r\n\r\n",
    "DEL in a value": b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x7fb\r\n\r\n",
    "obs-text in a value": b"GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n",
    "space before the colon": b"GET / HTTP/1.1\r\nHost : a\r\n\r\n",
    "no colon": b"GET / HTTP/1.1\r\nHost: a\r\nnocolon\r\n\r\n",
    "empty name": b"GET / HTTP/1.1\r\nHost: a\r\n: x\r\n\r\n",
    "bad byte in a name": b"GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n",
    "no Host": b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n",
    "two Hosts": b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "HTTP/1.0": b"GET / HTTP/1.0\r\nHost: a\r\n\r\n",
    "HTTP/2.0 line": b"GET / HTTP/2.0\r\nHost: a\r\n\r\n",
    "lower-case method": b"get / HTTP/1.1\r\nHost: a\r\n\r\n",
    "unknown method": b"FOO / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST": b"POST / HTTP/1.1\r\nHost: a\r\n\r\n",
    "two spaces": b"GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
    "tab in the request line": b"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n",
    "absolute form": b"GET http://a/api/ping HTTP/1.1\r\nHost: b\r\n\r\n",
    "asterisk": b"OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
    "authority form": b"CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n",
    "percent in the path": b"GET /%61pi/ping HTTP/1.1\r\nHost: a\r\n\r\n",
    "fragment": b"GET /api/ping#x HTTP/1.1\r\nHost: a\r\n\r\n",
    "space in the target": b"GET /a b HTTP/1.1\r\nHost: a\r\n\r\n",
    "non-ASCII target": b"GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n",
    "Connection: close": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    "Connection: keep-alive, close": b"GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, close\r\n\r\n",
    "Upgrade": b"GET /api/new-releases/ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "Expect": b"GET / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n",
    "empty line first": b"\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "TLS hello": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "not whole yet": b"GET / HTTP/1.1\r\nHost: a\r\n",
    "over the head limit": b"GET / HTTP/1.1\r\nHost: a\r\nX: " + b"a" * HEAD_LIMIT + b"\r\n\r\n",
    "target over the limit": b"GET /" + b"a" * (HEAD_LIMIT + 1) + b" HTTP/1.1\r\nHost: a\r\n\r\n",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_a_hostile_or_unusual_head_is_left_to_h11(name):
    assert read_plain(HOSTILE[name], 0, HEAD_LIMIT) is None


PLAIN_HEADS = [
    PLAIN,
    b"GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"HEAD /api/new-releases/stream HTTP/1.1\r\nhost: a\r\n\r\n",
    b"GET /api/x?q=%20a&b=%zz HTTP/1.1\r\nHost: a\r\nConnection: Keep-Alive\r\nX-Empty:\r\nX-Pad: \t v a l \t \r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: a\r\nAccept: a\r\nACCEPT: b\r\n\r\nGET /next HTTP/1.1\r\n",  # a pipelined one behind
]


@pytest.mark.parametrize("data", PLAIN_HEADS)
def test_a_plain_head_is_read_as_h11_reads_it(data):
    assert assert_read_alike(data)


_PIECES = [b"GET", b"HEAD", b" ", b"/", b"/a?b=c", b"%", b"#", b"HTTP/1.1", b"HTTP/1.0", b"\r\n", b"\n", b"\r",
           b"Host: a", b"host:b", b"Connection: keep-alive", b"Connection: close", b"Content-Length: 0",
           b"Transfer-Encoding: chunked", b"X:", b" ", b"\t", b":", b"\x00", b"\x7f", b"\xff", b"x", b"Upgrade: h2c"]


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), max_size=14))
def test_whatever_the_plain_reader_takes_h11_reads_alike(pieces):
    data = b"".join(pieces) + b"\r\n\r\n"
    assert_read_alike(data)
    assert_read_alike(b"GET / HTTP/1.1\r\nHost: a\r\n" + data)


def _h11_render(method: bytes, answer: Answer, extra) -> bytes:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(method + b" / HTTP/1.1\r\nHost: a\r\n\r\n")
    conn.next_event()
    return render(conn, answer, extra, head=method == b"HEAD")


ANSWERS = {
    "page": Answer(200, ((b"content-type", b"text/html"), (b"content-length", b"5"), (b"etag", b'"1"')), b"hello"),
    "error": error_answer(404, "not_found", "no such release"),
    "304": Answer(304, ((b"etag", b'"1"'),)),
    "204 with a length": Answer(204, ((b"content-length", b"0"),)),
}


@pytest.mark.parametrize("name", ANSWERS)
@pytest.mark.parametrize("method", [b"GET", b"HEAD"])
def test_an_answer_after_a_plain_request_is_h11s_bytes(name, method):
    answer, extra = ANSWERS[name], [(b"access-control-allow-origin", b"*")]
    plain = render_plain(answer.status, reason(answer.status), decorated(answer, extra), answer.body,
                         head=method == b"HEAD")
    assert plain == _h11_render(method, answer, extra)


@pytest.mark.parametrize("answer", [
    Answer(200, ((b"content-type", b"text/plain"),), b"no length"),  # h11 sends it chunked
    Answer(200, ((b"content-length", b" 3"),), b"abc"),  # h11 rewrites the value
    Answer(200, ((b"content-length", b"3"), (b"content-length", b"3")), b"abc"),
    Answer(200, ((b"content-length", b"3"), (b"transfer-encoding", b"chunked")), b"abc"),
    Answer(200, ((b"content-length", b"3"), (b"connection", b"close")), b"abc"),
    Answer(200, ((b"Content-Length", b"3"),), b"abc"),
])
def test_an_answer_h11_would_change_is_left_to_h11(answer):
    for head in (False, True):
        assert render_plain(answer.status, b"OK", decorated(answer, []), answer.body, head=head) is None


def test_a_body_of_another_length_than_said_is_left_to_h11_which_refuses_it():
    answer = Answer(200, ((b"content-length", b"9"),), b"too")
    assert render_plain(200, b"OK", decorated(answer, []), answer.body, head=False) is None
    with pytest.raises(h11.LocalProtocolError):
        _h11_render(b"GET", answer, [])


# -- over a real socket ----------------------------------------------------------------------------
async def test_hostile_heads_behind_a_plain_one_are_refused_as_h11_refuses_them(db):
    cases = {
        "obs-fold": (b"GET /api/ping HTTP/1.1\r\nHost: a\r\nX-A: b\r\n c\r\n\r\n", 200),  # h11 unfolds it
        "both lengths": (b"GET /api/ping HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked"
                         b"\r\n\r\n0\r\n\r\n", 400),
        "duplicate lengths": (b"GET /api/ping HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\nContent-Length: 1\r\n\r\n",
                              400),
        "bare LF in a value": (b"GET /api/ping HTTP/1.1\r\nHost: a\r\nX: a\nb\r\n\r\n", 400),
        "NUL": (b"GET /api/ping HTTP/1.1\r\nHost: a\r\nX: a\x00b\r\n\r\n", 400),
        "no Host": (b"GET /api/ping HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
    }
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        for name, (hostile, status) in cases.items():
            stream = await connect()
            await stream.send_all(request("GET", "/api/ping") + hostile + request("GET", "/api/ping"))
            data, closed = await read_all(stream)
            answers = parse(data, ["GET", "GET", "GET"])
            assert answers[0].status == 200, name  # the plain one, before it
            assert answers[1].status == status, (name, answers[1])
            if status == 400:
                assert_json_error(answers[1], 400, answers[1].json()["error"])
                assert len(answers) == 2 and closed, name  # nothing after a refusal is read


async def test_a_page_and_a_stream_pipelined_plainly_are_both_answered_and_the_connection_streams(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"GET /api/ping HTTP/1.1\r\nHost: a\r\n\r\n"
                              b"GET /api/ping HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\n\r\n"
                              b"HEAD /api/ping HTTP/1.1\r\nHost: a\r\n\r\n"
                              b"GET /api/new-releases/stream HTTP/1.1\r\nHost: a\r\nAccept: text/event-stream\r\n\r\n")
        data = b""
        with trio.fail_after(5):  # the three answers and the stream's head, in whatever reads they come
            while data.count(b"HTTP/1.1 ") < 4 or b"retry: " not in data.rpartition(b"HTTP/1.1 ")[2]:
                data += await stream.receive_some(65536)
    first, second, third, sse = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and second.startswith(b"200 ") and third.startswith(b"200 ")
    assert first.endswith(b'{"pong":true,"lifespan_runs":1}') or b"pong" in first
    assert b"pong" not in third and b"content-length: " in third  # HEAD: GET's length, no body
    assert sse.startswith(b"200 ") and b"text/event-stream" in sse
