"""Hypercorn behind the gateway: connections the gateway does not serve itself are handed over.

This is what ``hypercorn.trio.run.worker_serve`` does, minus the listening: the ASGI lifespan
runs once (Quart's before/after serving), and each handed-over stream gets its own
``TCPServer``.  Setting ``context.terminated`` makes idle keep-alive connections close.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import attrs
import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio.lifespan import Lifespan
from hypercorn.trio.statsd import StatsdLogger
from hypercorn.trio.tcp_server import TCPServer
from hypercorn.trio.worker_context import WorkerContext
from hypercorn.typing import ConnectionState
from hypercorn.utils import wrap_app


@attrs.define(eq=False)
class HypercornHandoff:
    app: Any  # hypercorn's AppWrapper around the ASGI app
    config: HypercornConfig
    context: WorkerContext
    lifespan_state: dict[str, Any]

    async def serve_connection(self, stream: trio.abc.Stream) -> None:
        """Serve HTTP/1.1 on ``stream`` until the client or the shutdown closes it."""
        state = ConnectionState(self.lifespan_state.copy())
        await TCPServer(self.app, self.config, self.context, state, stream).run()  # type: ignore[arg-type]

    async def terminate(self) -> None:
        await self.context.terminated.set()


@contextlib.asynccontextmanager
async def open_hypercorn(app: Any, config: HypercornConfig) -> AsyncIterator[HypercornHandoff]:
    config.set_statsd_logger_class(StatsdLogger)
    wrapped = wrap_app(app, config.wsgi_max_body_size, None)
    state: dict[str, Any] = {}
    lifespan = Lifespan(wrapped, config, state)
    async with trio.open_nursery() as nursery:
        await nursery.start(lifespan.handle_lifespan)
        await lifespan.wait_for_startup()
        try:
            yield HypercornHandoff(wrapped, config, WorkerContext(None), state)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(config.graceful_timeout):
                # closed channels = the lifespan task is already gone (we are being cancelled)
                with contextlib.suppress(trio.ClosedResourceError, trio.BrokenResourceError):
                    await lifespan.wait_for_shutdown()
            nursery.cancel_scope.cancel()
