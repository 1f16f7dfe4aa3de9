"""``GET /api/health``: is the daemon doing its job?

The answer is one ``HealthReport`` (vibed/health) rendered once: 503 when the database does not
answer (within ``vibed.health.gather.BUDGET`` seconds even when it is stalled), ``degraded``
(200) with each reason in ``reasons``, else ``ok``.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify

from vibed.health.render import to_json
from vibed.http.context import context

blueprint = Blueprint("health", __name__)


@blueprint.get("/api/health")
async def health() -> Response:
    report = await context().health()
    response = jsonify(to_json(report))
    reachable = report.database_reachable
    response.status_code = 200 if reachable else 503
    response.headers["Cache-Control"] = "no-store"
    if not reachable:
        response.headers["Retry-After"] = "5"
    return response
