"""``GET /metrics``: Prometheus text format; also names each answer's route for the edge to count."""

from __future__ import annotations

import attrs
from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.health import HealthReport, PollingPlan, PushHealth, TargetsHealth, WebhooksHealth
from vibed.http.context import context
from vibed.metrics import (
    CONTENT_TYPE,
    Metrics,
    PlanGauges,
    PushCounts,
    ScrapeState,
    TargetCounts,
    WebhookCounts,
)
from vibed.pipeline.writer import Writer
from vibed.push.sender import PushSender
from vibed.targets.sender import TargetSender
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
    # a scrape tells this moment: no cache keeps it (REDbot's FRESHNESS_HEURISTIC otherwise)
    return Response(await context().metrics(), status=200, content_type=CONTENT_TYPE,
                    headers={"Cache-Control": "no-store"})


def scrape(metrics: Metrics, report: HealthReport, *, writer: Writer | None, sender: WebhookSender | None,
           push: PushSender | None = None, targets: TargetSender | None = None) -> bytes:
    """The Prometheus text: state read from the same records as /api/health, counters from their hooks."""
    pipeline = report.pipeline
    streams = report.delivery.streams if report.delivery is not None else None
    metrics.state = ScrapeState(
        releases_stored=0 if writer is None else writer.first_seen_total,
        events_published=0 if writer is None else writer.stored_events,
        clients=0 if streams is None else streams.sse + streams.websocket,
        tokens={} if pipeline is None else {name: b.tokens for name, b in pipeline.buckets.items()},
        sources={} if pipeline is None else {name: s.available for name, s in pipeline.sources.items()},
        plan=PlanGauges() if pipeline is None else _plan(pipeline.polling),
        webhooks=None if sender is None else _webhooks(sender, report.webhooks),
        push=None if push is None else _push(push, report.push),
        replay=None if streams is None else streams.replay,
        targets=None if targets is None else _targets(targets, report.notify_targets),
    )
    return metrics.render()


def _plan(polling: PollingPlan) -> PlanGauges:
    scopes = [((source, scope), poll) for source, per in polling.scopes.items() for scope, poll in per.items()]
    return PlanGauges(
        next_poll_s={key: poll.next_poll_in_s for key, poll in scopes},
        interval_s={key: poll.interval_s for key, poll in scopes},
        learned_rate={key: poll.learned_rate_per_hour for key, poll in scopes},
        forecast={service: b.forecast_per_day for service, b in polling.budget.items()},
        spendable={service: b.spendable_per_day for service, b in polling.budget.items()})


def _webhooks(sender: WebhookSender, queue: WebhooksHealth | None) -> WebhookCounts:
    if queue is None:  # the database does not answer: this instance's counts only
        return WebhookCounts(sender.delivered, sender.failures, sender.dead_lettered)
    return WebhookCounts(sender.delivered, sender.failures, sender.dead_lettered, pending=queue.pending,
                         dead=queue.dead, paused=len(queue.paused))


def _targets(sender: TargetSender, queue: TargetsHealth | None) -> TargetCounts:
    counts = TargetCounts(sender.messages, sender.releases, sender.failures, sender.dead_lettered)
    if queue is None:  # the database does not answer: this instance's counts only
        return counts
    return attrs.evolve(counts, pending=queue.pending, dead=queue.dead, paused=len(queue.paused))


def _push(sender: PushSender, queue: PushHealth | None) -> PushCounts:
    counts = PushCounts(sender.delivered, sender.failures, sender.dead_lettered, sender.gone)
    if queue is None:  # the database does not answer: this instance's counts only
        return counts
    return attrs.evolve(counts, pending=queue.pending, dead=queue.dead, subscriptions=queue.subscriptions)
