"""Helpers for the fetch-pipeline tests: a daemon running in-process, its rounds, its log lines.

    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:
        progress = await daemon.round()          # poke through Control, wait for fetch_completed

Rounds are awaited through the scheduler's ``on_round`` hook, never by sleeping.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator, Iterator
from functools import partial
from typing import Any

import attrs
import structlog
import trio

from vibed.actors.scheduler import RoundProgress
from vibed.config import load_config
from vibed.daemon import Runtime, serve_daemon
from vibed.simulator import SimSettings

# releases of "today" count as new (the writer's window is measured by the database's date)
TODAY = dt.datetime.now(dt.UTC).date()
FAR_AWAY = "0 0 29 2 *"  # 29 February: no cron round during a test
LANGUAGES = ("ml", "hi", "ta")
ROUND_TIMEOUT = 20.0  # a round of the test simulator takes well under a second


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


@attrs.define(eq=False)
class Rounds:
    """The scheduler's ``on_round`` hook: finished rounds by id, awaitable."""

    finished: dict[str, RoundProgress] = attrs.field(factory=dict)
    order: list[RoundProgress] = attrs.field(factory=list)
    _waiting: dict[str, trio.Event] = attrs.field(factory=dict)
    _any: trio.Event = attrs.field(factory=trio.Event)

    def __call__(self, progress: RoundProgress) -> None:
        self.finished[progress.id] = progress
        self.order.append(progress)
        self._waiting.pop(progress.id, trio.Event()).set()
        self._any.set()
        self._any = trio.Event()

    async def wait(self, round_id: str, timeout: float = ROUND_TIMEOUT) -> RoundProgress:
        with trio.fail_after(timeout):
            while round_id not in self.finished:
                await self._waiting.setdefault(round_id, trio.Event()).wait()
        return self.finished[round_id]

    async def wait_count(self, count: int, timeout: float = ROUND_TIMEOUT) -> list[RoundProgress]:
        with trio.fail_after(timeout):
            while len(self.order) < count:
                await self._any.wait()
        return self.order


@attrs.define(eq=False)
class Daemon:
    runtime: Runtime
    rounds: Rounds

    async def round(self, languages: tuple[str, ...] | None = None) -> RoundProgress:
        """Poke (as POST /api/new-releases/fetch does) and wait until that round has completed."""
        requested = self.runtime.parts["control"].request_round("http", languages)
        return await self.rounds.wait(requested.round_id)


class StopSwitch:
    """A ``trio.Event`` for ``serve_daemon(stop=...)`` that is also truthy.

    Works around ``stop = stop or trio.Event()`` in ``serve_daemon``: a ``trio.Event`` refuses
    ``bool()``, so passing one raises NotImplementedError (reported; daemon.py is not ours).
    """

    def __init__(self) -> None:
        self._event = trio.Event()

    def __bool__(self) -> bool:
        return True

    def set(self) -> None:
        self._event.set()

    def is_set(self) -> bool:
        return self._event.is_set()

    async def wait(self) -> None:
        await self._event.wait()


@contextlib.asynccontextmanager
async def running_daemon(config: Any) -> AsyncIterator[Daemon]:
    stop = StopSwitch()
    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(partial(serve_daemon, config, stop=stop))
        rounds = Rounds()
        runtime.parts["scheduler"].on_round = rounds
        try:
            yield Daemon(runtime, rounds)
        finally:
            stop.set()


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
