"""Helpers for the fetch-pipeline tests: the config of an in-process daemon on the simulator, its log lines.

    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:     # tests/daemon_inproc.py
        progress = await daemon.round()          # poke through Control, wait for fetch_completed
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Iterator
from typing import Any

import structlog
import trio

from tests.api_support import FAR_AWAY
from vibed.config import load_config
from vibed.simulator import SimSettings

# releases of "today" count as new (the writer's window is measured by the database's date)
TODAY = dt.datetime.now(dt.UTC).date()
LANGUAGES = ("ml", "hi", "ta")


def quiet_sim_settings(**overrides: Any) -> SimSettings:
    """A simulator that grows only through POST /_sim/release, releasing "today"."""
    return SimSettings(**{"seed": 7, "new_per_minute": 0, "today": TODAY, **overrides})


def daemon_config(db_url: str, sim_url: str, **overrides: Any) -> Any:
    values = {
        "database_url": db_url, "jiosaavn_base_url": sim_url, "port": 0, "host": "127.0.0.1",
        "schedule": FAR_AWAY, "languages": ",".join(LANGUAGES), "grace_period": 3, "db_pool_size": 6,
        "polling": "cron",  # rounds only when a test pokes; adaptive polling has its own tests
        **overrides,
    }
    return load_config(values, environ={}, env_file=None)


@contextlib.contextmanager
def captured_logs() -> Iterator[list[dict[str, Any]]]:
    """The structured log events emitted meanwhile (``{"event": ..., "log_level": ..., **fields}``)."""
    with structlog.testing.capture_logs() as logs:
        yield logs


def events_named(logs: list[dict[str, Any]], name: str, **fields: Any) -> list[dict[str, Any]]:
    return [e for e in logs if e["event"] == name and all(e.get(k) == v for k, v in fields.items())]


class LineReader:
    """Lines of a subprocess's stdout (a trio ReceiveStream), decoded."""

    def __init__(self, stream: trio.abc.ReceiveStream) -> None:
        self._stream = stream
        self._buffer = b""
        self.lines: list[str] = []

    async def readline(self) -> str | None:
        """The next line, or None at end of stream."""
        while b"\n" not in self._buffer:
            chunk = await self._stream.receive_some(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        text = line.decode(errors="replace")
        self.lines.append(text)
        return text
