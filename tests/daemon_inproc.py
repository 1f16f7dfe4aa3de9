"""The whole daemon inside the test's Trio run: real database, real HTTP port, real simulator."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import trio

from vibed.config import load_config
from vibed.daemon import serve_daemon


def daemon_config(db_url: str, **overrides: Any) -> Any:
    environ = {"DATABASE_URL": db_url, "PORT": "0", "VIBED_HOST": "127.0.0.1",
               "VIBED_SCHEDULE": "0 0 1 1 *", "VIBED_GRACE_PERIOD": "3"}
    config = load_config({}, environ=environ, env_file=None, config_file="/dev/null")
    import attrs

    return attrs.evolve(config, **overrides)


@contextlib.asynccontextmanager
async def running_daemon(db_url: str, **overrides: Any) -> AsyncIterator[Any]:
    """Yield the Runtime of a daemon started in this run; stop and drain it on exit."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(partial(serve_daemon, daemon_config(db_url, **overrides), stop=stop))
        try:
            yield runtime
        finally:
            stop.set()


def base_url(runtime: Any) -> str:
    return f"http://127.0.0.1:{runtime.parts['http_port']}"


async def wait_for_round(runtime: Any, count: int, timeout: float = 20) -> Any:
    scheduler = runtime.parts["scheduler"]
    with trio.fail_after(timeout):
        while scheduler.rounds < count or scheduler.last_round is None or \
                scheduler.last_round is not None and not scheduler.last_round.done.is_set():
            await trio.sleep(0.02)
    return scheduler.last_round
