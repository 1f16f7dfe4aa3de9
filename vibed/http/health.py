"""``GET /api/health``: is the daemon doing its job?

503 when the database does not answer, within ``BUDGET`` seconds even when it is stalled: the
ping and every service's health run concurrently under one deadline, and a part that misses it
is named in ``incomplete``.  The answer is one ``HealthReport`` (vibed/health) rendered once;
``degraded`` (200) names each reason in ``reasons``.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import trio
from quart import Blueprint, Response, current_app, jsonify

import vibed
from vibed.health import ActorHealth, DeliveryHealth, HealthReport, PipelineHealth, WebhooksHealth

if TYPE_CHECKING:  # the daemon's module builds the app that imports this one
    from vibed.daemon import Runtime

blueprint = Blueprint("health", __name__)
BUDGET = 1.8  # seconds: the whole answer, so a stalled database still gets its 503 within 2 s


async def health_report(runtime: Runtime) -> HealthReport:
    """The daemon's health now: each part within ``BUDGET``, the missing ones named in ``incomplete``."""
    db_ok = False
    pipeline: PipelineHealth | None = None
    webhooks: WebhooksHealth | None = None
    incomplete: list[str] = []
    parts = runtime.health

    async def ping() -> None:
        nonlocal db_ok
        db_ok = await runtime.db.ping(timeout=BUDGET - 0.3)

    async def read_pipeline() -> None:
        nonlocal pipeline
        if parts.pipeline is not None:
            try:
                pipeline = await parts.pipeline()
            except Exception:  # noqa: BLE001 - a failing part is named in "incomplete", never a 500
                incomplete.append("pipeline")

    async def read_webhooks() -> None:
        nonlocal webhooks
        if parts.webhooks is not None:
            try:
                webhooks = await parts.webhooks()
            except Exception:  # noqa: BLE001 - as above
                incomplete.append("webhooks")

    with trio.move_on_after(BUDGET) as scope:
        async with trio.open_nursery() as nursery:
            for part in (ping, read_pipeline, read_webhooks):
                nursery.start_soon(part)
    if scope.cancelled_caught:
        incomplete.append("deadline")
    delivery: DeliveryHealth | None = parts.delivery() if parts.delivery is not None else None
    actors = {s.name: ActorHealth(s.state, s.restarts, s.last_error) for s in runtime.supervisor.statistics()}
    return HealthReport(
        version=vibed.__version__, role=runtime.config.role,
        uptime_s=round(time.monotonic() - runtime.started_monotonic, 1),
        database_reachable=db_ok, embedded=runtime.embedded, actors=actors,
        pipeline=pipeline, delivery=delivery, webhooks=webhooks, incomplete=tuple(incomplete))


@blueprint.get("/api/health")
async def health() -> Response:
    report = await health_report(current_app.extensions["vibed"])
    response = jsonify(report.to_json())
    reachable = report.database_reachable
    response.status_code = 200 if reachable else 503
    response.headers["Cache-Control"] = "no-store"
    if not reachable:
        response.headers["Retry-After"] = "5"
    return response
