"""Serving the Quart-Trio app with Hypercorn inside the daemon's nursery."""

from __future__ import annotations

import logging
from typing import Any

import trio
from hypercorn.config import Config as HypercornConfig
from hypercorn.trio import serve


def hypercorn_config(host: str, port: int, *, grace: float) -> HypercornConfig:
    config = HypercornConfig()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")  # rendered as JSON by vibed.logs
    config.graceful_timeout = grace
    config.keep_alive_timeout = 30
    config.h11_max_incomplete_size = 32 * 1024  # header flood -> 431/400, not memory
    return config


async def serve_http(app: Any, host: str, port: int, *, shutdown: trio.Event, grace: float = 5.0,
                     task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until ``shutdown`` is set; ``task_status.started(port)`` with the bound port."""
    async with trio.open_nursery() as nursery:
        bound = await nursery.start(_serve, app, hypercorn_config(host, port, grace=grace), shutdown)
        task_status.started(int(bound[0].rsplit(":", 1)[1]))


async def _serve(app: Any, config: HypercornConfig, shutdown: trio.Event,
                 task_status: trio.TaskStatus[list[str]] = trio.TASK_STATUS_IGNORED) -> None:
    await serve(app, config, shutdown_trigger=shutdown.wait, task_status=task_status)
