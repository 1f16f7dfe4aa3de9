"""``GET /api/health``: is the daemon doing its job?  503 when the database does not answer."""

from __future__ import annotations

import time

from quart import Blueprint, current_app, jsonify

import vibed

blueprint = Blueprint("health", __name__)


@blueprint.get("/api/health")
async def health():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    db_ok = await runtime.db.ping()
    actors = {
        s.name: {"state": s.state, "restarts": s.restarts, "last_error": s.last_error}
        for s in runtime.supervisor.statistics()
    }
    body = {
        "status": "ok",
        "version": vibed.__version__,
        "uptime_s": round(time.monotonic() - runtime.started_monotonic, 1),
        "database": {"reachable": db_ok, "embedded": runtime.embedded},
        "actors": actors,
    }
    extra = getattr(runtime, "health_extra", None)
    if extra is not None:
        body.update(await extra())
    degraded = any(a["state"] in ("restarting", "failed") for a in actors.values())
    if body.get("degraded"):
        degraded = True
    body.pop("degraded", None)
    if not db_ok:
        body["status"] = "unavailable"
    elif degraded:
        body["status"] = "degraded"
    response = jsonify(body)
    response.status_code = 200 if db_ok else 503
    response.headers["Cache-Control"] = "no-store"
    return response
