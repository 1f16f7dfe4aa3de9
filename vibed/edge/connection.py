"""One client connection: HTTP/1.1 keep-alive parsed by h11, each request handed to the router.

    read a head (within ``head`` s of its first byte; ``idle`` s allowed between requests)
      → router.route(head): answered, or the socket now belongs to a stream
      → both sides DONE: next request (pipelined ones wait in h11's buffer, answered in order)

Whatever goes wrong on the wire is answered here, then the connection is closed: 400 for what
h11 refuses or what is ambiguously framed (framing.py), 414/431 for a target/head over 32 KiB
(counted exactly, however it arrived), 408 for a head or body that does not arrive in time
(the body's deadline is for the whole body, so a drip-fed one ends too), 413 for a body over
the app's limit.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Protocol

import attrs
import h11
import trio

from vibed.edge.exchange import RequestHead, Wire
from vibed.edge.framing import HEAD_LIMIT, framing_refusal, oversized_head
from vibed.edge.respond import Answer, error_answer, render
from vibed.edge.target import routed_request
from vibed.vocab.wire import receive_some, send_all

LINGER_S = 2.0  # after an error answer: how long what the client still sends is read and dropped
LINGER_BYTES = 1 << 20


@attrs.frozen
class Timeouts:
    head: float = 10.0  # from a request's first byte (or a new connection) to the end of its head
    idle: float = 30.0  # between two requests on a kept-alive connection
    body: float = 10.0  # for a whole request body, from the end of its head
    app: float = 30.0  # for the app to answer one request
    write: float = 30.0  # for one answer to leave, from its first byte: a client that stops reading is cut


DEFAULT_TIMEOUTS = Timeouts()


Later = Callable[[], Awaitable[bool]]  # the rest of one request's routing; True = a stream owns the socket


class Router(Protocol):
    timeouts: Timeouts
    idle: set[trio.CancelScope]  # connections waiting for their next request: shutdown ends them

    async def route(self, head: RequestHead) -> bool: ...  # True = a stream owns the socket now

    def route_nowait(self, head: RequestHead) -> bool | Later: ...  # as far as it goes without waiting


async def serve_connection(router: Router, sock: socket.socket, peer: tuple[str, int],
                           wire: Wire | None = None, *, reused: bool = False, rest: Later | None = None) -> None:
    """Serve requests until the connection ends or a stream owns its socket.  A connection whose
    first requests were served without a task (``arrivals.py``) goes on here with its ``wire``,
    and ``rest``: what is left to do for its current request."""
    wire = wire or Wire()
    owned = True
    try:
        while True:
            if rest is None:
                head = await _read_head(router, wire, sock, peer, reused)
                if head is None:
                    return
                rest = partial(router.route, head)
            if await rest():
                owned = False
                return
            rest = None
            if not next_cycle(wire):
                return
            reused = True
    except OSError:  # the peer reset the connection
        pass
    finally:
        if owned:
            sock.close()


def next_cycle(wire: Wire) -> bool:
    """After an answer: True when the connection is ready for its next request (after a plain
    request it always is: HTTP/1.1, kept alive, no body)."""
    conn = wire.conn
    if conn is None:
        return True
    if conn.our_state is not h11.DONE or not _request_done(conn):
        return False  # Connection: close, HTTP/1.0, an error answer, or a body nobody read
    conn.start_next_cycle()
    return True


def _request_done(conn: h11.Connection) -> bool:
    """True once the request is read to its end (for a bodiless request, without waiting)."""
    while conn.their_state is h11.SEND_BODY:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError:
            return False
        if event is h11.NEED_DATA or isinstance(event, h11.Data):
            return False  # a body the answer did not need: closing is cheaper than draining it
    return conn.their_state is h11.DONE


async def refuse(conn: h11.Connection, sock: socket.socket, answer: Answer, write_s: float) -> None:
    """Write an error answer, then end the connection without destroying that answer: closing a
    socket with unread input sends a reset, which can reach the client before our answer is read.
    So: our side is shut, and what the client still sends is read and dropped, briefly (lingering
    close, as web servers do), before the caller closes the socket.  ``write_s``: the answer's
    write deadline."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    try:
        await send_all(sock, render(conn, answer, close=True), trio.current_time() + write_s)
        sock.shutdown(socket.SHUT_WR)
    except (OSError, h11.LocalProtocolError):
        return
    deadline = trio.current_time() + LINGER_S
    dropped = 0
    while dropped < LINGER_BYTES:
        try:
            data = await receive_some(sock, deadline)
        except OSError:
            return
        if not data:  # the client closed, or the linger time is over
            return
        dropped += len(data)


async def _read_head(router: Router, wire: Wire, sock: socket.socket, peer: tuple[str, int],
                     reused: bool) -> RequestHead | None:
    timeouts = router.timeouts
    started = wire.pending()  # a pipelined request is already here
    if reused:
        # Let every other task run before this connection's next request.  Measured with
        # tests/benchmarks/api_list.py (wrk, 50 keep-alive connections, a full daemon): without it
        # the loop's timers fell up to 370-700 ms behind and the p99 was 164-231 ms; with it 9 ms.
        await trio.lowlevel.checkpoint()
    deadline = trio.current_time() + (timeouts.idle if reused and not started else timeouts.head)
    while True:
        got = next_head_nowait(wire, sock, peer, reused)
        if isinstance(got, RequestHead):
            return got
        if isinstance(got, Answer):
            await refuse(wire.take_over(0), sock, got, timeouts.write)
            return None
        if got is None:  # ConnectionClosed: the client is done with us
            return None
        if started:
            data = await receive_some(sock, deadline)
        else:  # between requests: shutdown may end the wait
            with trio.CancelScope() as waiting:
                router.idle.add(waiting)
                try:
                    data = await receive_some(sock, deadline)
                finally:
                    router.idle.discard(waiting)
            if waiting.cancelled_caught:
                return None
        if data is None:
            if started:
                await refuse(wire.take_over(0), sock, error_answer(408, "request_timeout", "the request head did "
                                                                                            "not arrive in time"),
                             timeouts.write)
            return None  # an idle connection just ends
        if not started:
            started = True
            deadline = trio.current_time() + timeouts.head
        wire.receive(data)


def next_head_nowait(wire: Wire, sock: socket.socket, peer: tuple[str, int],
                     reused: bool) -> RequestHead | Answer | type[h11.NEED_DATA] | None:
    """The next request head from what ``wire`` holds: a ``RequestHead``; an ``Answer``, the refusal
    to write before closing; ``h11.NEED_DATA`` while it is incomplete; None once the client closed.
    A plain request is read without h11 (vibed/plain_http.py); the first other one hands to h11."""
    if wire.conn is None:
        head = RequestHead.read_plain(wire, sock, peer, reused)
        if head is not None:
            return head
    conn = wire.take_over(wire.start)
    before = len(conn.trailing_data[0])
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError as exc:
        status = exc.error_status_hint  # 400, 431 (head too large), 501 (a transfer coding h11 lacks)
        return oversized_head(conn.trailing_data[0]) if status == 431 else error_answer(
            status, "bad_request" if status == 400 else "not_implemented", f"malformed HTTP request: {exc}"[:200])
    if isinstance(event, h11.Request):
        refusal = framing_refusal(event)
        if refusal is None and before - len(conn.trailing_data[0]) > HEAD_LIMIT:
            refusal = error_answer(431, "header_too_large", "the request head is larger than 32 KiB")
        routed = routed_request(event) if refusal is None else None
        if routed is None:
            return refusal or error_answer(400, "bad_request", "the request target is neither a path nor an "
                                                               "http(s) URL")
        return RequestHead.of(routed, wire, sock, peer, reused)
    return h11.NEED_DATA if event is h11.NEED_DATA else None


async def read_body(head: RequestHead, limit: int, timeouts: Timeouts) -> bytes | Answer:
    """The whole request body (chunked or not) within ``timeouts.body`` of now, or the error answer
    when it cannot be had."""
    conn, sock = head.conn, head.sock
    deadline = trio.current_time() + timeouts.body  # one for the whole body: not renewed by each byte
    declared = head.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        return error_answer(413, "payload_too_large", f"the request body is {declared} bytes; at most "
                                                      f"{limit} are accepted")
    if conn.they_are_waiting_for_100_continue:
        await send_all(sock, conn.send(h11.InformationalResponse(status_code=100, headers=[])) or b"",
                       trio.current_time() + timeouts.write)
    parts: list[bytes] = []
    size = 0
    while True:
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            return error_answer(400, "bad_request", f"malformed request body: {exc}"[:200])
        if isinstance(event, h11.Data):
            size += len(event.data)
            if size > limit:
                return error_answer(413, "payload_too_large", f"the request body is over {limit} bytes")
            parts.append(bytes(event.data))
        elif isinstance(event, h11.EndOfMessage):
            return b"".join(parts)
        elif event is h11.NEED_DATA:
            data = await receive_some(sock, deadline)
            if data is None:
                return error_answer(408, "request_timeout", f"the request body did not arrive within "
                                                            f"{timeouts.body:g} s")
            conn.receive_data(data)
        else:  # the client closed in the middle of its body
            return error_answer(400, "bad_request", "the connection closed before the body ended")
