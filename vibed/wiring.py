"""Channels are created here, and only here; actors are started here under the supervisor.

    control ─Poke─► scheduler ─FetchJob─► fetchers×N ─Page|Failure─► writer ─StoredEvent─► broadcaster
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio

from vibed.http.app import create_app
from vibed.http.server import serve_http
from vibed.logs import get_logger

log = get_logger("vibed.wiring")


@attrs.define(eq=False)
class Services:
    port: int
    poke: Callable[[], None]
    reload: Callable[[], Awaitable[None]]
    drain: Callable[[], Awaitable[None]]


async def start_services(nursery: trio.Nursery, runtime: Any) -> Services:
    config = runtime.config
    http_stop = trio.Event()

    app = create_app(runtime)
    port = await nursery.start(
        lambda task_status: serve_http(app, config.host, config.port, shutdown=http_stop,
                                       grace=min(3.0, config.grace_period), task_status=task_status)
    )

    def poke() -> None:
        pass

    async def reload() -> None:
        log.info("reload_ignored", reason="nothing to reload yet")

    async def drain() -> None:
        http_stop.set()

    return Services(port=port, poke=poke, reload=reload, drain=drain)
