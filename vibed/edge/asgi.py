"""The Quart app behind the edge, served one request at a time through Hypercorn.

Hypercorn stays the app's server: its ``HTTPStream`` builds the ASGI scope, runs the app and
turns what the app sends into response events, exactly as inside Hypercorn's own HTTP/1.1
protocol.  What the edge takes over is the connection around it (reading, keep-alive, routing
of the *next* request), so a request for a stream that follows an ordinary request on the same
connection still reaches the hub.  The ASGI lifespan (Quart's before/after serving) runs once.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import attrs
import h11
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.protocol.events import Body, EndBody, Event, Request, Response, StreamClosed
from hypercorn.protocol.http_stream import HTTPStream
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import AppWrapper, ASGIFramework
from hypercorn.utils import wrap_app

from vibed.edge.respond import Answer, stored_headers
from vibed.logs import get_logger
from vibed.vocab.edge_keys import CLIENT_IP

log = get_logger("vibed.http")


@attrs.define(eq=False)
class _Collected:
    """One response as ``HTTPStream`` sends it: head, body parts, then closed."""

    status: int = 500
    headers: list[tuple[bytes, bytes]] = attrs.field(factory=list)
    body: list[bytes] = attrs.field(factory=list)
    done: trio.Event = attrs.field(factory=trio.Event)

    async def send(self, event: Event) -> None:
        if isinstance(event, Response):
            self.status, self.headers = event.status_code, list(event.headers)
        elif isinstance(event, Body):
            self.body.append(bytes(event.data))
        elif isinstance(event, StreamClosed):
            self.done.set()


@attrs.define(eq=False)
class AppBridge:
    app: AppWrapper  # Hypercorn's wrapper around the ASGI app
    config: HypercornConfig
    lifespan_state: dict[str, Any]
    tasks: trio.Nursery  # where the app's request tasks run
    context: WorkerContext = attrs.field(factory=lambda: WorkerContext(None))

    # Hypercorn's TaskGroup protocol, the one method HTTPStream calls
    async def spawn_app(self, app: Any, config: HypercornConfig, scope: dict[str, Any],
                        send: Callable[[Any], Awaitable[None]]) -> Callable[[Any], Awaitable[None]]:
        put, take = trio.open_memory_channel[Any](config.max_app_queue_size)
        self.tasks.start_soon(self._run_app, app, scope, take.receive, send)
        return put.send

    async def _run_app(self, app: Any, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            await app(scope, receive, send, trio.to_thread.run_sync, trio.from_thread.run)
        except Exception as exc:  # the app's own error handlers answer JSON; this is the last net
            log.error("http_app_crashed", error=f"{type(exc).__name__}: {exc}"[:300])
        finally:
            await send(None)  # HTTPStream answers 500 if nothing was sent, then closes the stream

    async def answer(self, request: h11.Request, body: bytes, client: tuple[str, int] | None,
                     server: tuple[str, int] | None, client_ip: str) -> Answer:
        """Run the app for one request (its body already read) and return its complete answer."""
        collected = _Collected()
        stream = HTTPStream(self.app, self.config, self.context, self, False, client, server,  # type: ignore[arg-type]
                            collected.send, 1)
        state = {**self.lifespan_state, CLIENT_IP: client_ip}
        await stream.handle(Request(stream_id=1, headers=list(request.headers), http_version=request.http_version.decode(),
                                    method=request.method.decode("ascii"), raw_path=request.target,
                                    state=state))  # type: ignore[arg-type]
        if body:
            await stream.handle(Body(stream_id=1, data=body))
        await stream.handle(EndBody(stream_id=1))
        await collected.done.wait()
        await stream.handle(StreamClosed(stream_id=1))  # access log; a late app_send is ignored
        answer = Answer(collected.status, stored_headers(collected.headers), b"".join(collected.body))
        log.debug("app_answered", method=request.method.decode("ascii"), target=request.target.decode("latin-1")[:200],
                  status=answer.status, bytes=len(answer.body))
        return answer


def hypercorn_config(grace: float) -> HypercornConfig:
    config = HypercornConfig()
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # rendered as JSON by vibed.logs
    config.graceful_timeout = grace
    config.include_server_header = False
    return config


@contextlib.asynccontextmanager
async def open_app_bridge(app: ASGIFramework, config: HypercornConfig) -> AsyncIterator[AppBridge]:
    """The lifespan started (Quart's ``before_serving`` done) until the block ends, then shut down."""
    config.set_statsd_logger_class(StatsdLogger)
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, state)
    async with trio.open_nursery() as nursery:
        await nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        async with trio.open_nursery() as tasks:
            try:
                yield AppBridge(wrapped, config, state, tasks)
            finally:
                tasks.cancel_scope.cancel()
        with trio.CancelScope(shield=True), trio.move_on_after(config.graceful_timeout):
            # closed channels = the lifespan task is already gone (we are being cancelled)
            with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
                await lifespan.wait_for_shutdown()
        nursery.cancel_scope.cancel()
