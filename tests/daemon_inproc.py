"""The whole daemon inside the test's Trio run: real database, real HTTP socket, real simulator.

    async with running_daemon(api_config(db_url)) as daemon:           # config: tests/api_support.py
        r = await daemon.client.get("/api/new-releases")                 # httpx on the bound port
        progress = await daemon.round()                                  # poke, wait until it completed

The one runner of every in-process test. Rounds are awaited through the scheduler's ``on_round``
hook, never by sleeping; the port is the one the daemon bound (configs ask for port 0).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import attrs
import httpx
import trio

from vibed.daemon import Runtime, serve_daemon
from vibed.pipeline.scheduler import RoundProgress

ROUND_TIMEOUT = 20.0  # a ceiling: a round of the test simulator takes well under a second


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
class InProcessDaemon:
    runtime: Runtime
    client: httpx.AsyncClient  # base URL: this daemon
    rounds: Rounds

    @property
    def port(self) -> int:
        return int(self.runtime.services.edge.port)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def round(self, languages: tuple[str, ...] | None = None) -> RoundProgress:
        """Poke (as POST /api/new-releases/fetch does) and wait until that round has completed."""
        requested = self.runtime.services.pipeline.control.request_round("http", languages)
        return await self.rounds.wait(requested.round_id)


def _both(daemons: Any, ours: Rounds, progress: RoundProgress) -> None:
    if daemons is not None:
        daemons(progress)  # the round's metrics and the notifier's status line
    ours(progress)


@contextlib.asynccontextmanager
async def running_daemon(config: Any) -> AsyncIterator[InProcessDaemon]:
    """``serve_daemon`` on ``config`` until the block ends; then stopped and drained (its grace period)."""
    stop = trio.Event()
    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(partial(serve_daemon, config, stop=stop))
        rounds = Rounds()
        scheduler = runtime.services.pipeline.scheduler
        scheduler.on_round = partial(_both, scheduler.on_round, rounds)  # the daemon's own hook still runs
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{runtime.services.edge.port}",
                                         timeout=10) as client:
                yield InProcessDaemon(runtime, client, rounds)
        finally:
            stop.set()
