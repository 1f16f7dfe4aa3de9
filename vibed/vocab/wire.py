"""Raw-socket plumbing for the edge: receive with a deadline, write all, replay bytes to a stream.

The edge works on the non-blocking ``socket.socket`` itself, not a Trio stream, because a stream
connection ends up owned by the hub, which writes to the bare socket without a task.
"""

from __future__ import annotations

import math
import socket
import struct
from typing import Any

import trio

RECV_SIZE = 65536
_RESET_ON_CLOSE = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends RST, frees the buffers


async def receive_some(sock: socket.socket, deadline: float) -> bytes | None:
    """Bytes from the peer (``b""`` = it closed its side), or None at ``deadline``."""
    while True:
        try:
            return sock.recv(RECV_SIZE)
        except BlockingIOError:
            pass
        with trio.move_on_at(deadline):
            await trio.lowlevel.wait_readable(sock)
            continue
        return None


async def send_all(sock: socket.socket, data: bytes, deadline: float = math.inf) -> None:
    """Write everything, waiting for room; OSError when the peer is gone, ``TimeoutError`` (also an
    OSError) when it has not taken everything by ``deadline``.  A timed-out socket is set to reset
    on close: its unsent bytes are dropped at once rather than left to the kernel to retry for
    minutes towards a peer that does not read."""
    view = memoryview(data)
    while view:
        try:
            sent = sock.send(view)
        except BlockingIOError:
            with trio.move_on_at(deadline):
                await trio.lowlevel.wait_writable(sock)
                continue
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET_ON_CLOSE)
            raise TimeoutError(f"the peer took {len(data) - len(view)} of {len(data)} bytes before the deadline") from None
        view = view[sent:]


class ReplayedStream(trio.abc.HalfCloseableStream):
    """A ``SocketStream`` whose first reads return bytes the edge already consumed.

    trio-websocket reads the upgrade request again from it, then speaks WebSocket on the socket.
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
