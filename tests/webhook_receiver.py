"""A webhook receiver for tests: a small Trio HTTP/1.1 server (h11) on a real socket.

    async with open_receiver() as rx:        # http://127.0.0.1:<port>/hook
        ...; await rx.wait_for(3)
        rx.received[0].headers["webhook-id"], rx.received[0].body

``answer`` decides each answer from the request (default 200; a 2xx request is in ``received``
from its arrival, before the answer, which waits ``delay`` seconds); ``stop()`` closes the port
(connections refused, the target is "down"), ``start()`` opens it again on the same port.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

import attrs
import h11
import trio


@attrs.frozen
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes


Answer = tuple[int, list[tuple[str, str]]]


@attrs.define(eq=False)
class Receiver:
    nursery: trio.Nursery
    answer: Callable[[Received], Answer] = lambda r: (200, [])
    port: int = 0
    host: str = "127.0.0.1"  # any 127.x address: two receivers may share a port on two of them
    delay: float = 0.0  # seconds between a request's arrival and its answer (a slow target)
    body: bytes = b"ok"  # what every answer carries
    received: list[Received] = attrs.field(factory=list)
    _scope: trio.CancelScope | None = None
    _arrived: trio.Event = attrs.field(factory=trio.Event)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/hook"

    async def start(self) -> None:
        self._scope = trio.CancelScope()
        listeners = await self.nursery.start(self._serve, self._scope)
        self.port = listeners[0].socket.getsockname()[1]

    def stop(self) -> None:
        if self._scope is not None:
            self._scope.cancel()
            self._scope = None

    async def _serve(self, scope: trio.CancelScope, *, task_status: trio.TaskStatus) -> None:
        with scope:
            await trio.serve_tcp(self._connection, self.port, host=self.host, task_status=task_status)

    async def wait_for(self, count: int, timeout: float = 20.0) -> list[Received]:
        with trio.fail_after(timeout):
            while len(self.received) < count:
                await self._arrived.wait()
                self._arrived = trio.Event()
        return self.received

    async def _connection(self, stream: trio.SocketStream) -> None:
        conn = h11.Connection(h11.SERVER)
        with contextlib.suppress(trio.BrokenResourceError, trio.ClosedResourceError, h11.RemoteProtocolError):
            while True:
                request, body = None, b""
                while True:
                    event = conn.next_event()
                    if event is h11.NEED_DATA:
                        data = await stream.receive_some(65536)
                        conn.receive_data(data)
                        if not data and conn.their_state is not h11.SEND_BODY:
                            return
                        continue
                    if isinstance(event, h11.Request):
                        request = event
                    elif isinstance(event, h11.Data):
                        body += event.data
                    elif isinstance(event, h11.EndOfMessage):
                        break
                    elif isinstance(event, h11.ConnectionClosed):
                        return
                assert request is not None
                got = Received(request.method.decode(), request.target.decode(),
                               {k.decode().lower(): v.decode() for k, v in request.headers}, body)
                status, headers = self.answer(got)
                if 200 <= status < 300:
                    self.received.append(got)  # counted on arrival: a sender killed now never hears the answer
                self._arrived.set()
                await trio.sleep(self.delay)
                out = conn.send(h11.Response(status_code=status,
                                             headers=[*headers, ("content-length", str(len(self.body)))]))
                await stream.send_all(out)
                await stream.send_all(conn.send(h11.Data(data=self.body)) + conn.send(h11.EndOfMessage()))
                if conn.our_state is h11.MUST_CLOSE:
                    return
                conn.start_next_cycle()


@contextlib.asynccontextmanager
async def open_receiver(answer: Callable[[Received], Answer] | None = None, *, host: str = "127.0.0.1",
                        port: int = 0) -> AsyncIterator[Receiver]:
    async with trio.open_nursery() as nursery:
        receiver = Receiver(nursery, **({"answer": answer} if answer else {}), host=host, port=port)
        await receiver.start()
        try:
            yield receiver
        finally:
            nursery.cancel_scope.cancel()


__all__ = ["Received", "Receiver", "open_receiver"]
