"""A faithful stand-in for JioSaavn and Spotify, quirks and failures included (``vibed simulate``).

    url = await nursery.start(serve_simulator)  # e.g. "http://127.0.0.1:43121"

Point ``JIOSAAVN_BASE_URL``, ``SPOTIFY_API_URL`` and ``SPOTIFY_ACCOUNTS_URL`` at ``url``.
"""

from __future__ import annotations

from functools import partial

import hypercorn
import hypercorn.trio
import trio

from vibed.simulator.routes import create_app
from vibed.simulator.settings import Fault, SimSettings

__all__ = ["Fault", "SimSettings", "serve_simulator"]


async def serve_simulator(
    host: str = "127.0.0.1", port: int = 0, *, settings: SimSettings | None = None,
    task_status: trio.TaskStatus[str] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; ``task_status.started`` gets the bound base URL (port 0 -> a free port)."""
    config = hypercorn.Config()
    config.bind = [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"]
    config.accesslog = None
    config.errorlog = None  # the bound URL goes to task_status; the caller decides what to log
    app = create_app(settings or SimSettings())
    async with trio.open_nursery() as nursery:
        binds = await nursery.start(partial(hypercorn.trio.serve, app, config))
        task_status.started(binds[0])
