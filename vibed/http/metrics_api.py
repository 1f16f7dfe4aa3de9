"""``GET /metrics``: Prometheus text format; also names each answer's route for the edge to count."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request

from vibed.metrics import CONTENT_TYPE
from vibed.store import bucket
from vibed.vocab.edge_keys import ROUTE
from vibed.webhooks import subscriptions as webhooks

blueprint = Blueprint("metrics", __name__)


def register(app: Any) -> None:
    app.register_blueprint(blueprint)

    @app.after_request
    async def _route(response: Response) -> Response:
        # the edge counts every answer (its own and cached ones too) under this route, then drops the header
        response.headers[ROUTE] = request.url_rule.rule if request.url_rule is not None else "unmatched"
        return response


@blueprint.get("/metrics")
async def metrics():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    m = runtime.parts.metrics
    writer = runtime.parts.writer
    hub = runtime.parts.hub
    try:
        tokens = {b.service: b.tokens for b in await bucket.all_buckets(runtime.db)}
    except Exception:  # noqa: BLE001 - a scrape during a database outage still answers
        tokens = {}
    m.state.update(
        webhooks=await _webhooks(runtime),
        tokens=tokens,
        releases_stored=getattr(writer, "first_seen_total", 0),
        events_published=getattr(writer, "stored_events", 0),
        clients=_clients(hub),
        sources={name: s.available for name, s in runtime.parts.sources.items()},
        polling=runtime.parts.polling() if runtime.parts.polling is not None else {},
    )
    response = Response(m.render(), status=200, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"  # a reading of this moment: never reused
    return response


async def _webhooks(runtime: Any) -> dict[str, Any] | None:
    sender = runtime.parts.webhook_sender
    if sender is None:
        return None
    hooks: dict[str, Any] = {"delivered": sender.delivered, "failed": sender.failures,
                             "dead_lettered": sender.dead_lettered}
    try:
        row = await webhooks.health(runtime.db)
    except Exception:  # noqa: BLE001 - a scrape during a database outage still answers
        return hooks
    hooks["queue"] = {"pending": row["pending"], "dead": row["dead"], "paused": len(row["paused"])}
    return hooks


def _clients(hub: Any) -> int:
    if hub is None:
        return 0
    stats = hub.statistics()
    return stats.sse_clients + stats.ws_clients
