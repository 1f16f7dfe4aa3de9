"""``GET /metrics``: Prometheus text format; also names each answer's route for the edge to count."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.delivery.replay import ReplayStatistics
from vibed.health import HealthReport, WebhooksHealth
from vibed.http.context import context
from vibed.metrics import CONTENT_TYPE, Metrics
from vibed.pipeline.writer import Writer
from vibed.vocab.edge_keys import ROUTE
from vibed.webhooks.sender import WebhookSender

blueprint = Blueprint("metrics", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)

    @app.after_request
    async def _route(response: Response) -> Response:
        # the edge counts every answer (its own and cached ones too) under this route, then drops the header
        response.headers[ROUTE] = request.url_rule.rule if request.url_rule is not None else "unmatched"
        return response


@blueprint.get("/metrics")
async def metrics() -> Response:
    return Response(await context().metrics(), status=200, content_type=CONTENT_TYPE)


def scrape(metrics: Metrics, report: HealthReport, *, writer: Writer | None, sender: WebhookSender | None,
           replay: ReplayStatistics | None) -> bytes:
    """The Prometheus text: state read from the same records as /api/health, counters from their hooks."""
    pipeline = report.pipeline
    streams = report.delivery.streams if report.delivery is not None else None
    metrics.state.update(
        webhooks=_webhooks(sender, report.webhooks),
        tokens={} if pipeline is None else {name: b.tokens for name, b in pipeline.buckets.items()},
        releases_stored=0 if writer is None else writer.first_seen_total,
        events_published=0 if writer is None else writer.stored_events,
        clients=0 if streams is None else streams.sse + streams.websocket,
        replay=replay,
        sources={} if pipeline is None else {name: s.available for name, s in pipeline.sources.items()},
        polling={} if pipeline is None else dict(pipeline.polling),
    )
    return metrics.render()


def _webhooks(sender: WebhookSender | None, queue: WebhooksHealth | None) -> dict[str, Any] | None:
    if sender is None:
        return None
    hooks: dict[str, Any] = {"delivered": sender.delivered, "failed": sender.failures,
                             "dead_lettered": sender.dead_lettered}
    if queue is not None:  # absent while the database does not answer
        hooks["queue"] = {"pending": queue.pending, "dead": queue.dead, "paused": len(queue.paused)}
    return hooks
