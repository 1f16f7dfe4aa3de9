"""Support for the WebSocket tests: a client that behaves as told (no tests here).

``WireClient`` is wsproto's client state machine on a plain TCP socket, so a test decides what a
client does that a library would do for it: answer pings or not, complete a close or not, stop
reading altogether (with a small receive buffer, so the server's writes back up soon).
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import attrs
import trio
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    CloseConnection,
    Event,
    Ping,
    Request,
    TextMessage,
)

WS_PATH = "/api/new-releases/ws"


@attrs.define(eq=False)
class WireClient:
    stream: trio.SocketStream
    ws: WSConnection
    pong: bool = True  # answer pings, as every browser does
    pings: list[float] = attrs.field(factory=list)  # when each ping arrived (trio clock)
    closed: CloseConnection | None = None  # the server's close frame, once it came
    _events: list[Event] = attrs.field(factory=list)

    async def next_event(self) -> Event | None:
        """The next wsproto event; None once the server closed the TCP connection."""
        while not self._events:
            try:
                data = await self.stream.receive_some(65536)
            except trio.BrokenResourceError:
                data = b""
            if not data:
                return None
            self.ws.receive_data(data)
            self._events.extend(self.ws.events())
        event = self._events.pop(0)
        if isinstance(event, Ping):
            self.pings.append(trio.current_time())
            if self.pong:
                await self.stream.send_all(self.ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            self.closed = event  # never answered: a client that does not complete the close
        return event

    async def message(self, timeout: float = 5.0) -> dict[str, Any]:
        """The next text message as JSON (pings in between are handled)."""
        with trio.fail_after(timeout):
            while True:
                event = await self.next_event()
                assert event is not None, "the server closed the connection"
                if isinstance(event, TextMessage):
                    return json.loads(event.data)

    async def until_closed(self) -> None:
        """Read (answering pings as told) until the server ends the TCP connection."""
        while await self.next_event() is not None:
            pass


@contextlib.asynccontextmanager
async def open_wire_client(port: int, query: str = "", *, receive_buffer: int = 0,
                           pong: bool = True) -> AsyncIterator[WireClient]:
    """Connect, upgrade (the 101 is checked) and yield; ``receive_buffer`` shrinks SO_RCVBUF first."""
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    await sock.connect(("127.0.0.1", port))
    stream = trio.SocketStream(sock)
    ws = WSConnection(ConnectionType.CLIENT)
    client = WireClient(stream, ws, pong)
    try:
        await stream.send_all(ws.send(Request(host="test", target=WS_PATH + query)))
        with trio.fail_after(5):
            event = await client.next_event()
        assert isinstance(event, AcceptConnection), f"the upgrade was refused: {event!r}"
        yield client
    finally:
        await stream.aclose()


def upgrade(*headers: str, target: str = WS_PATH) -> bytes:
    """A raw upgrade request with exactly these headers besides Host (for malformed ones)."""
    lines = [f"GET {target} HTTP/1.1", "Host: test", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


GOOD = ("Upgrade: websocket", "Connection: Upgrade", "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==")
NO_KEY = GOOD[:3]
VERSION_8 = (*GOOD[:2], "Sec-WebSocket-Version: 8", GOOD[3])

__all__ = ["GOOD", "NO_KEY", "VERSION_8", "WS_PATH", "WireClient", "open_wire_client", "upgrade"]
