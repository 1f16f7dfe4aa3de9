"""Raw HTTP/1.1 on a real socket, for the edge's conformance tests: send exact bytes, read every
byte until the server closes (or a timeout), and parse what came back with h11."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import h11
import trio


@attrs.frozen
class Parsed:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes
    informational: tuple[int, ...] = ()  # 1xx answers that came before this one

    def json(self) -> Any:
        import json
        return json.loads(self.body)


@contextlib.asynccontextmanager
async def raw_clients(port: int) -> AsyncIterator[Callable[[], Awaitable[trio.SocketStream]]]:
    """``connect()`` opens a plain TCP connection to the server; all are closed at the end."""
    opened: list[trio.SocketStream] = []

    async def connect() -> trio.SocketStream:
        opened.append(await trio.open_tcp_stream("127.0.0.1", port))
        return opened[-1]

    try:
        yield connect
    finally:
        for stream in opened:
            await stream.aclose()


async def read_all(stream: trio.SocketStream, timeout: float = 5.0) -> tuple[bytes, bool]:
    """Every byte until the server closes, or ``timeout``: (bytes, closed by the server)."""
    data = bytearray()
    with trio.move_on_after(timeout):
        while True:
            try:
                chunk = await stream.receive_some(65536)
            except trio.BrokenResourceError:
                return bytes(data), True
            if not chunk:
                return bytes(data), True
            data += chunk
    return bytes(data), False


class AnswerReader:
    """h11 on the client side, fed raw bytes; ``asked`` tells it what was requested (a HEAD answer
    has no body), since the requests themselves went out as raw bytes."""

    def __init__(self) -> None:
        self.conn = h11.Connection(h11.CLIENT)
        self._info: list[int] = []
        self._head: h11.Response | None = None
        self._body = bytearray()

    def asked(self, method: str) -> None:
        if self.conn.our_state is h11.DONE and self.conn.their_state is h11.DONE:
            self.conn.start_next_cycle()
        self.conn.send(h11.Request(method=method, target="/", headers=[("Host", "t")]))
        self.conn.send(h11.EndOfMessage())

    def next_answer(self) -> Parsed | None:
        """The next complete answer in what was received, or None (more data needed, or closed)."""
        while True:
            try:
                event = self.conn.next_event()
            except h11.RemoteProtocolError:
                return None
            if event is h11.NEED_DATA or event is h11.PAUSED or isinstance(event, h11.ConnectionClosed):
                return None
            if isinstance(event, h11.InformationalResponse):
                self._info.append(event.status_code)
            elif isinstance(event, h11.Response):
                self._head = event
            elif isinstance(event, h11.Data):
                self._body += event.data
            elif isinstance(event, h11.EndOfMessage):
                assert self._head is not None
                answer = Parsed(self._head.status_code, {k.decode(): v.decode() for k, v in self._head.headers},
                                bytes(self._body), tuple(self._info))
                self._info, self._head, self._body = [], None, bytearray()
                return answer


async def read_responses(stream: trio.SocketStream, methods: list[str], timeout: float = 5.0) -> list[Parsed]:
    """Exactly ``len(methods)`` answers (to requests made with those methods); the connection stays."""
    reader = AnswerReader()
    out: list[Parsed] = []
    with trio.fail_after(timeout):
        for method in methods:
            reader.asked(method)
            while (answer := reader.next_answer()) is None:
                reader.conn.receive_data(await stream.receive_some(65536))
            out.append(answer)
    return out


def parse(data: bytes, methods: list[str]) -> list[Parsed]:
    """The answers in ``data`` (a whole conversation, the server's close included)."""
    reader = AnswerReader()
    reader.conn.receive_data(data)
    reader.conn.receive_data(b"")
    out = []
    for method in methods:
        if reader.conn.their_state in (h11.CLOSED, h11.MUST_CLOSE, h11.ERROR):
            break
        reader.asked(method)
        answer = reader.next_answer()
        if answer is None:
            break
        out.append(answer)
    return out


SECURITY = {"x-content-type-options": "nosniff", "x-frame-options": "DENY", "referrer-policy": "no-referrer"}


def assert_json_error(answer: Parsed, status: int, error: str) -> None:
    """``answer`` is the edge's one error shape, with the security headers every answer carries."""
    assert answer.status == status, answer
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert body["error"] == error and set(body) == {"error", "detail"} and body["detail"]
    for key, value in SECURITY.items():
        assert answer.headers[key] == value


def request(method: str, target: str, *headers: str, body: bytes = b"", version: str = "1.1") -> bytes:
    lines = [f"{method} {target} HTTP/{version}", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body
