"""``GET /api/health``: is the daemon doing its job?

503 when the database does not answer, within ``BUDGET`` seconds even when it is stalled: the
ping and every health part run concurrently under one deadline, and a part that misses it is
named in ``incomplete``.  ``degraded`` (200) names each reason in ``reasons``: an actor
restarting, the bus, sources that fail, are blocked, gone or suspiciously empty, and paused
webhook targets.
"""

from __future__ import annotations

import time
from typing import Any

import trio
from quart import Blueprint, current_app, jsonify

import vibed
from vibed.http.health_reasons import source_reasons, webhook_reasons
from vibed.logs.redact import strip_urls

blueprint = Blueprint("health", __name__)
BUDGET = 1.8  # seconds: the whole answer, so a stalled database still gets its 503 within 2 s


async def _gather(runtime: Any) -> tuple[bool, dict[str, Any], list[str]]:
    db_ok = False
    merged: dict[str, Any] = {}
    incomplete: list[str] = []

    async def ping() -> None:
        nonlocal db_ok
        db_ok = await runtime.db.ping(timeout=BUDGET - 0.3)

    async def part(index: int, fn: Any) -> None:
        name = getattr(fn, "__qualname__", str(index))
        try:
            merged.update(await fn())
        except Exception:  # noqa: BLE001 - a failing part is named in "incomplete", never a 500
            incomplete.append(name)

    with trio.move_on_after(BUDGET) as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(ping)
            for i, fn in enumerate(getattr(runtime, "health_parts", ())):
                nursery.start_soon(part, i, fn)
    if scope.cancelled_caught:
        incomplete.append("deadline")
    return db_ok, merged, incomplete


def _public(value: Any) -> Any:
    """Health is public: states and reasons, never a backend's URL (a Redis error quotes one)."""
    if isinstance(value, str):
        return strip_urls(value)
    if isinstance(value, dict):
        return {k: _public(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_public(v) for v in value]
    return value


@blueprint.get("/api/health")
async def health():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    db_ok, extra, incomplete = await _gather(runtime)
    actors = {
        s.name: {"state": s.state, "restarts": s.restarts, "last_error": s.last_error}
        for s in runtime.supervisor.statistics()
    }
    body: dict[str, Any] = {
        "status": "ok",
        "version": vibed.__version__,
        "uptime_s": round(time.monotonic() - runtime.started_monotonic, 1),
        "database": {"reachable": db_ok, "embedded": runtime.embedded},
        "actors": actors,
    }
    body.update(_public(extra))
    reasons = [f"actor {name}: {a['state']}" for name, a in actors.items()
               if a["state"] in ("restarting", "failed")]
    if body.pop("degraded", None):
        reasons.append(f"bus: {body.get('bus', {}).get('state', 'degraded')}")
    reasons += source_reasons(body.get("sources", {}))
    reasons += webhook_reasons(body.get("webhooks", {}))
    if incomplete:
        body["incomplete"] = incomplete
    if not db_ok:
        body["status"] = "unavailable"
        reasons.insert(0, "database: not answering")
    elif reasons:
        body["status"] = "degraded"
    body["reasons"] = reasons
    response = jsonify(body)
    response.status_code = 200 if db_ok else 503
    response.headers["Cache-Control"] = "no-store"
    if not db_ok:
        response.headers["Retry-After"] = "5"
    return response
