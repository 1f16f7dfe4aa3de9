"""``gather``: the daemon's ``HealthReport`` now, each part within ``BUDGET`` seconds.

The ping and every service's health run concurrently under one deadline, so a stalled database
still gets its answer in time; a part that misses the deadline, or fails, is named in
``incomplete`` (never a 500).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

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

BUDGET = 1.8  # seconds: the whole answer, so a stalled database still gets its 503 within 2 s


async def gather(db: Database, supervisor: Supervisor, *, role: Role, embedded: bool, started: float,
                 pipeline: Callable[[], Awaitable[PipelineHealth]] | None = None,
                 delivery: Callable[[], DeliveryHealth] | None = None,
                 webhooks: Callable[[], Awaitable[WebhooksHealth]] | None = None,
                 push: Callable[[], Awaitable[PushHealth]] | None = None,
                 edge: Callable[[], EdgeHealth] | None = None,
                 targets: Callable[[], Awaitable[TargetsHealth]] | None = None) -> HealthReport:
    """``started``: the daemon's start, on ``time.monotonic``'s clock."""
    db_ok = False
    pipeline_health: PipelineHealth | None = None
    webhooks_health: WebhooksHealth | None = None
    targets_health: TargetsHealth | None = None
    push_health: PushHealth | None = None
    incomplete: list[str] = []

    async def ping() -> None:
        nonlocal db_ok
        db_ok = await db.ping(timeout=BUDGET - 0.3)

    async def read_pipeline() -> None:
        nonlocal pipeline_health
        if pipeline is not None:
            try:
                pipeline_health = await pipeline()
            except Exception:  # noqa: BLE001 - a failing part is named in "incomplete", never a 500
                incomplete.append("pipeline")

    async def read_webhooks() -> None:
        nonlocal webhooks_health
        if webhooks is not None:
            try:
                webhooks_health = await webhooks()
            except Exception:  # noqa: BLE001 - as above
                incomplete.append("webhooks")

    async def read_targets() -> None:
        nonlocal targets_health
        if targets is not None:
            try:
                targets_health = await targets()
            except Exception:  # noqa: BLE001 - as above
                incomplete.append("notify_targets")

    async def read_push() -> None:
        nonlocal push_health
        if push is not None:
            try:
                push_health = await push()
            except Exception:  # noqa: BLE001 - as above
                incomplete.append("push")

    with trio.move_on_after(BUDGET) as scope:
        async with trio.open_nursery() as nursery:
            for part in (ping, read_pipeline, read_webhooks, read_push, read_targets):
                nursery.start_soon(part)
    if scope.cancelled_caught:
        incomplete.append("deadline")
    actors = {s.name: ActorHealth(s.state, s.restarts, s.last_error) for s in supervisor.statistics()}
    return HealthReport(
        version=vibed.__version__, role=role, uptime_s=round(time.monotonic() - started, 1),
        database_reachable=db_ok, embedded=embedded, actors=actors, pipeline=pipeline_health,
        delivery=None if delivery is None else delivery(), webhooks=webhooks_health, notify_targets=targets_health,
        push=push_health,
        edge=None if edge is None else edge(),
        incomplete=tuple(incomplete))
