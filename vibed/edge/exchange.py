"""One request as the edge parsed it, on the connection that carries it.

``request`` is already as the app routes it (target.py): ``path`` is what the app matches its
routes against, and ``target`` the one spelling of it, for the limits and the edge cache.

A connection's bytes are read by ``read_plain`` (vibed/plain_http.py) while each request is a
plain bodiless GET/HEAD, and by h11 from the first one that is not, for good (``Wire``).  A plain
request has no h11 objects until something asks for ``conn`` or ``request`` (the app, a refusal, a
body, a head to render through h11): then h11 reads it from its first byte, with what follows."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import attrs
import h11

from vibed.edge.framing import HEAD_LIMIT
from vibed.edge.respond import Answer, Header, decorated, http_date, reason, render
from vibed.edge.target import app_path
from vibed.plain_http import read_plain, render_plain


@attrs.define(eq=False)
class Wire:
    """What one connection sent so far, and who reads it: the plain reader, or h11 (``conn``)."""

    data: bytes = b""
    start: int = 0  # where the next plain request begins in ``data``
    conn: h11.Connection | None = None
    _request: h11.Request | None = None  # what h11 read first, when it took over at a plain request's head
    _taken_at: int = -1

    def take_over(self, start: int) -> h11.Connection:
        """h11 reads from ``data[start]`` on, for good."""
        if self.conn is None:
            self.conn = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
            if rest := self.data[start:]:  # h11 takes b"" as the client's end: nothing here yet is not that
                self.conn.receive_data(rest)
            self.data, self._taken_at = b"", start
        return self.conn

    def request_at(self, start: int) -> h11.Request:
        """h11's reading of the plain request whose head starts at ``data[start]``."""
        if self._request is None or self._taken_at != start:
            event = self.take_over(start).next_event()
            # read_plain takes only what h11 reads alike (tests/test_edge_plain_http.py)
            assert isinstance(event, h11.Request) and self._taken_at == start, "h11 read a plain request differently"
            self._request = event
        return self._request

    def pending(self) -> bool:
        """Bytes of a next request are here already."""
        return self.start < len(self.data) if self.conn is None else bool(self.conn.trailing_data[0])

    def receive(self, data: bytes) -> None:
        self.take_over(self.start).receive_data(data)


@attrs.frozen
class RequestHead:
    method: str
    path: str  # percent-decoded, as the app routes it
    query: str
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined with ", "
    target: bytes  # the canonical request target: path and query, in origin form
    http_version: bytes
    wire: Wire = attrs.field(eq=False, repr=False)
    sock: socket.socket = attrs.field(eq=False, repr=False)
    peer: tuple[str, int]
    reused: bool  # an earlier request on this connection was answered already
    _read: h11.Request | None = attrs.field(default=None, repr=False)  # h11's, as routed; None: a plain request
    _start: int = -1  # a plain request's first byte in ``wire.data``

    @classmethod
    def of(cls, request: h11.Request, wire: Wire, sock: socket.socket, peer: tuple[str, int],
           reused: bool) -> RequestHead:
        return cls(request.method.decode("latin-1"), app_path(request.target),
                   request.target.partition(b"?")[2].decode("latin-1"), _fields(request.headers), request.target,
                   request.http_version, wire, sock, peer, reused, request)

    @classmethod
    def read_plain(cls, wire: Wire, sock: socket.socket, peer: tuple[str, int], reused: bool) -> RequestHead | None:
        """The plain request whose head starts at ``wire.start`` (``read_plain``), and ``wire.start``
        past it; None when it is not whole yet or not plain (h11's then).  Each distinct head is read
        once (``_heads``): a crowd sends the same few heads thousands of times."""
        data, start = wire.data, wire.start
        end = data.find(b"\r\n\r\n", start, start + HEAD_LIMIT + 4) + 4
        if end < 4:
            return None
        raw = data if start == 0 and end == len(data) else data[start:end]
        fields = _heads.get(raw)
        if fields is None:
            plain = read_plain(raw, 0, HEAD_LIMIT)
            if plain is None:
                return None
            path, _, query = plain.target.partition(b"?")
            fields = (plain.method.decode("latin-1"), path.decode("latin-1"), query.decode("latin-1"),
                      _fields(plain.headers), plain.target)
            if len(raw) <= HEAD_HELD_BYTES:
                if len(_heads) >= HEADS_HELD:
                    _heads.clear()
                _heads[raw] = fields
        method, path_text, query_text, headers, target = fields
        wire.start = end
        # its own copy of the fields: a head is frozen, its dict is not, and the held one is shared
        return cls(method, path_text, query_text, dict(headers), target, b"1.1", wire, sock, peer, reused, None,
                   start)

    @property
    def request(self) -> h11.Request:
        return self._read if self._read is not None else self.wire.request_at(self._start)

    @property
    def conn(self) -> h11.Connection:  # to read the body and render the answer
        self.request  # noqa: B018  # a plain request is read by h11 now
        assert self.wire.conn is not None
        return self.wire.conn

    @property
    def has_body(self) -> bool:
        return "content-length" in self.headers or "transfer-encoding" in self.headers

    @property
    def wants_websocket(self) -> bool:
        return self.headers.get("upgrade", "").lower() == "websocket"

    def rendered(self, answer: Answer, extra: Sequence[Header]) -> bytes:
        """``render`` on this request's connection; without h11 after a plain request, where it can."""
        if self.wire.conn is None:
            data = _plain_bytes(answer, extra, self.method == "HEAD")
            if data is not None:
                return data
        return render(self.conn, answer, extra, head=self.method == "HEAD")


# A head already read, by its bytes (method, path, query, fields, target): at most HEADS_HELD, then
# forgotten at once (a crowd's few heads come back at its next request); a head over HEAD_HELD_BYTES is
# read each time, so what is held stays within 4 MiB however large the heads a client sends
HEADS_HELD = 1024
HEAD_HELD_BYTES = 4096
_heads: dict[bytes, tuple[str, str, str, dict[str, str], bytes]] = {}

# A held answer (the page, a hot listing) goes to a crowd: its bytes after a plain request are made once
# per second (``Date``) for each set of per-request headers, and copied.  The value keeps the answer
# alive, so its id is not reused while it is a key.
_written: dict[tuple[int, bool, tuple[Header, ...]], tuple[Answer, bytes | None]] = {}
_written_at = [b""]


def _plain_bytes(answer: Answer, extra: Sequence[Header], head: bool) -> bytes | None:
    if (date := http_date()) != _written_at[0]:
        _written.clear()
        _written_at[0] = date
    key = (id(answer), head, tuple(extra))
    held = _written.get(key)
    if held is not None and held[0] is answer:
        return held[1]
    data = render_plain(answer.status, reason(answer.status), decorated(answer, extra), answer.body, head=head)
    if len(_written) < 256:
        _written[key] = (answer, data)
    return data


def _fields(pairs: Sequence[tuple[bytes, bytes]]) -> dict[str, str]:
    headers: dict[str, str] = {}
    for name, value in pairs:
        key, text = name.decode("latin-1"), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return headers
