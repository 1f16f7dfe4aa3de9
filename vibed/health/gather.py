"""``gather``: the daemon's ``HealthReport`` now, each part within ``BUDGET`` seconds.

The ping and every service's health run concurrently under one deadline, so a stalled database
still gets its answer in time; a part that misses the deadline, or fails, is named in
``incomplete`` (never a 500).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import attrs
import trio

import vibed
from vibed.config.parsing import Role
from vibed.health import (
    ActorHealth,
    DeliveryHealth,
    EdgeHealth,
    HealthReport,
    PipelineHealth,
    PushHealth,
    TargetsHealth,
    WebhooksHealth,
)
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor

T = TypeVar("T")
BUDGET = 1.8  # seconds: the whole answer, so a stalled database still gets its 503 within 2 s


@attrs.define(eq=False)
class _Part(Generic[T]):
    """One service's health, read within the budget; a failure is named in ``incomplete``, never a 500."""

    name: str
    read: Callable[[], Awaitable[T]] | None
    value: T | None = None

    async def __call__(self, incomplete: list[str]) -> None:
        if self.read is not None:
            try:
                self.value = await self.read()
            except Exception:  # noqa: BLE001 - a failing part is named in "incomplete", never a 500
                incomplete.append(self.name)


async def gather(db: Database, supervisor: Supervisor, *, role: Role, embedded: bool, started: float,
                 pipeline: Callable[[], Awaitable[PipelineHealth]] | None = None,
                 delivery: Callable[[], DeliveryHealth] | None = None,
                 webhooks: Callable[[], Awaitable[WebhooksHealth]] | None = None,
                 push: Callable[[], Awaitable[PushHealth]] | None = None,
                 edge: Callable[[], EdgeHealth] | None = None,
                 targets: Callable[[], Awaitable[TargetsHealth]] | None = None) -> HealthReport:
    """``started``: the daemon's start, on ``time.monotonic``'s clock."""
    db_ok = False
    incomplete: list[str] = []
    pipeline_part = _Part("pipeline", pipeline)
    webhooks_part = _Part("webhooks", webhooks)
    push_part = _Part("push", push)
    targets_part = _Part("notify_targets", targets)

    async def ping() -> None:
        nonlocal db_ok
        db_ok = await db.ping(timeout=BUDGET - 0.3)

    with trio.move_on_after(BUDGET) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ping)
            for part in (pipeline_part, webhooks_part, push_part, targets_part):
                nursery.start_soon(part, incomplete)
    if scope.cancelled_caught:
        incomplete.append("deadline")
    actors = {s.name: ActorHealth(s.state, s.restarts, s.last_error) for s in supervisor.statistics()}
    return HealthReport(
        version=vibed.__version__, role=role, uptime_s=round(time.monotonic() - started, 1),
        database_reachable=db_ok, embedded=embedded, actors=actors, pipeline=pipeline_part.value,
        delivery=None if delivery is None else delivery(), webhooks=webhooks_part.value,
        notify_targets=targets_part.value, push=push_part.value,
        edge=None if edge is None else edge(),
        incomplete=tuple(incomplete))
