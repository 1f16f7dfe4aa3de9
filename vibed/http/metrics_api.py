"""``GET /metrics``: Prometheus text format; also names each answer's route for the edge to count."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quart import Blueprint, Response, current_app, request

from vibed.health import WebhooksHealth
from vibed.http.health import health_report
from vibed.metrics import CONTENT_TYPE
from vibed.vocab.edge_keys import ROUTE
from vibed.webhooks.sender import WebhookSender

if TYPE_CHECKING:  # the daemon's module builds the app that imports this one
    from vibed.daemon import Runtime

blueprint = Blueprint("metrics", __name__)


def register(app: Any) -> None:
    app.register_blueprint(blueprint)

    @app.after_request
    async def _route(response: Response) -> Response:
        # the edge counts every answer (its own and cached ones too) under this route, then drops the header
        response.headers[ROUTE] = request.url_rule.rule if request.url_rule is not None else "unmatched"
        return response


@blueprint.get("/metrics")
async def metrics() -> Response:
    """State read from the same records as /api/health (``health_report``), counters from their hooks."""
    runtime: Runtime = current_app.extensions["vibed"]
    m = runtime.parts.metrics
    assert m is not None
    report = await health_report(runtime)
    writer = runtime.parts.writer
    pipeline = report.pipeline
    streams = report.delivery.streams if report.delivery is not None else None
    m.state.update(
        webhooks=_webhooks(runtime.parts.webhook_sender, report.webhooks),
        tokens={} if pipeline is None else {name: b.tokens for name, b in pipeline.buckets.items()},
        releases_stored=0 if writer is None else writer.first_seen_total,
        events_published=0 if writer is None else writer.stored_events,
        clients=0 if streams is None else streams.sse + streams.websocket,
        replay=runtime.parts.delivery.replayer.statistics() if runtime.parts.delivery is not None else None,
        sources={} if pipeline is None else {name: s.available for name, s in pipeline.sources.items()},
        polling={} if pipeline is None else dict(pipeline.polling),
    )
    response = Response(m.render(), status=200, content_type=CONTENT_TYPE)
    response.headers["Cache-Control"] = "no-store"  # a reading of this moment: never reused
    return response


def _webhooks(sender: WebhookSender | None, queue: WebhooksHealth | None) -> dict[str, Any] | None:
    if sender is None:
        return None
    hooks: dict[str, Any] = {"delivered": sender.delivered, "failed": sender.failures,
                             "dead_lettered": sender.dead_lettered}
    if queue is not None:  # absent while the database does not answer
        hooks["queue"] = {"pending": queue.pending, "dead": queue.dead, "paused": len(queue.paused)}
    return hooks
