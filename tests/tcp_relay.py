"""A TCP relay in front of a server, which a test can cut and restore (no tests here).

One instance reaches Redis through it: ``cut`` ends every connection through it at once and refuses new
ones (accepted, then closed) until ``restore``, so that instance loses Redis while the others keep theirs.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import attrs
import trio


@attrs.define(eq=False)
class Relay:
    target_port: int
    port: int = 0
    up: bool = True
    _open: set[trio.SocketStream] = attrs.field(factory=set)

    @property
    def redis_url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def cut(self) -> None:
        self.up = False
        for stream in list(self._open):
            stream.socket.close()  # a task reading it gets ClosedResourceError; the peer sees the end

    def restore(self) -> None:
        self.up = True

    async def _serve(self, client: trio.SocketStream) -> None:
        if not self.up:
            await client.aclose()
            return
        try:
            upstream = await trio.open_tcp_stream("127.0.0.1", self.target_port)
        except OSError:
            await client.aclose()
            return
        self._open |= {client, upstream}
        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_pipe, client, upstream, nursery.cancel_scope)
                nursery.start_soon(_pipe, upstream, client, nursery.cancel_scope)
        finally:
            self._open -= {client, upstream}
            for stream in (client, upstream):
                stream.socket.close()


async def _pipe(source: trio.SocketStream, sink: trio.SocketStream, done: trio.CancelScope) -> None:
    with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, OSError):
        while data := await source.receive_some(65536):
            await sink.send_all(data)
    done.cancel()


@contextlib.asynccontextmanager
async def open_relay(target_port: int) -> AsyncIterator[Relay]:
    relay = Relay(target_port)
    listeners = await trio.open_tcp_listeners(0, host="127.0.0.1")
    relay.port = listeners[0].socket.getsockname()[1]
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(trio.serve_listeners, relay._serve, listeners)
            yield relay
            relay.cut()
            nursery.cancel_scope.cancel()
    finally:
        for listener in listeners:
            await listener.aclose()
