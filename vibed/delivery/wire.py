"""Raw-socket plumbing for the gateway: read a request head with h11, write all, replay bytes.

The gateway reads a connection's request head itself to decide who serves it; whatever it read
must then be given to the next reader (Hypercorn, trio-websocket) first — ``ReplayedStream``.
"""

from __future__ import annotations

import socket
from typing import Any

import attrs
import h11
import trio

HEAD_LIMIT = 32 * 1024  # a head flood is cut here (and Hypercorn answers it 431/400)
HEAD_TIMEOUT = 10.0


@attrs.frozen
class RequestHead:
    method: str
    path: str
    query: str
    headers: dict[str, str]  # lower-cased names; a repeated header keeps its last value
    http_version: str
    conn: h11.Connection = attrs.field(eq=False, repr=False)  # to render our response
    received: bytes = attrs.field(repr=False)  # every byte read, request head included


async def read_head(sock: socket.socket) -> RequestHead | bytes | None:
    """The request head; or the bytes read when h11 refuses them (Hypercorn answers those with
    its 400/431); or None when the peer left or stayed silent for ``HEAD_TIMEOUT``."""
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=HEAD_LIMIT)
    received = bytearray()
    with trio.move_on_after(HEAD_TIMEOUT):
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError:
                return bytes(received)
            if isinstance(event, h11.Request):
                target = event.target.decode("latin-1")
                path, _, query = target.partition("?")
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers}
                return RequestHead(event.method.decode("latin-1"), path, query, headers,
                                   event.http_version.decode(), conn, bytes(received))
            if event is not h11.NEED_DATA:
                return None
            await trio.lowlevel.wait_readable(sock)
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                continue
            received += data
            conn.receive_data(data)  # b"" = EOF: the next event is ConnectionClosed
    return None


async def send_all(sock: socket.socket, data: bytes) -> None:
    """Write everything, waiting for room; OSError when the peer is gone."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            await trio.lowlevel.wait_writable(sock)
            continue
        view = view[sent:]


class ReplayedStream(trio.abc.HalfCloseableStream):
    """A ``SocketStream`` whose first reads return bytes the gateway already consumed.

    Hypercorn's ``TCPServer`` reads ``.socket`` for the peer address and treats a missing
    ``do_handshake`` as "not TLS", so the wrapper exposes the one and not the other.
    """

    def __init__(self, stream: trio.SocketStream, prefix: bytes) -> None:
        self._stream = stream
        self._prefix = prefix
        self.socket = stream.socket

    async def receive_some(self, max_bytes: int | None = None) -> bytes:
        if self._prefix:
            await trio.lowlevel.checkpoint()
            size = max_bytes or len(self._prefix)
            out, self._prefix = self._prefix[:size], self._prefix[size:]
            return out
        return await self._stream.receive_some(max_bytes)

    async def send_all(self, data: bytes | bytearray | memoryview) -> None:
        await self._stream.send_all(data)

    async def wait_send_all_might_not_block(self) -> None:
        await self._stream.wait_send_all_might_not_block()

    async def send_eof(self) -> None:
        await self._stream.send_eof()

    async def aclose(self) -> None:
        await self._stream.aclose()

    def setsockopt(self, *args: Any) -> None:
        self._stream.setsockopt(*args)

    def getsockopt(self, *args: Any) -> Any:
        return self._stream.getsockopt(*args)


def replayed_stream(sock: socket.socket, prefix: bytes) -> ReplayedStream:
    return ReplayedStream(trio.SocketStream(trio.socket.from_stdlib_socket(sock)), prefix)
