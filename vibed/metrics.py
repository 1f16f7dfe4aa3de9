"""Prometheus metrics (``GET /metrics``), one registry per daemon.

Counters that only exist at the moment something happens (an upstream answer, an HTTP
response, a restart, a finished round, a delivered frame) are incremented by small hooks;
everything that is state (tokens, clients, stored totals) is read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Protocol

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vibed.vocab.messages import Failure, Page
from vibed.vocab.source import Source

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ReplayCounts(Protocol):
    """How reconnecting streams were caught up (the delivery's ``ReplayStatistics``)."""

    @property
    def from_memory(self) -> int: ...

    @property
    def coalesced(self) -> int: ...

    @property
    def database_queries(self) -> int: ...

    @property
    def waiting(self) -> int: ...


@attrs.frozen
class WebhookCounts:
    delivered: int  # attempts by this instance's sender
    failed: int
    dead_lettered: int
    pending: int | None = None  # the outbox (every instance's); None while the database does not answer
    dead: int | None = None
    paused: int | None = None


@attrs.frozen
class TargetCounts:
    """Notification targets: this instance's sender, and the outbox (every instance's)."""

    messages: int  # messages sent by this instance
    releases: int  # releases those messages carried (a digest or a folded burst carries many)
    failed: int
    dead_lettered: int  # releases given up
    pending: int | None = None  # None while the database does not answer
    dead: int | None = None
    paused: int | None = None


@attrs.frozen
class PushCounts:
    delivered: int  # attempts by this instance's push sender
    failed: int
    dead_lettered: int
    gone: int  # subscriptions ended by the push service's 404/410
    pending: int | None = None  # the push outbox (every instance's); None while the database does not answer
    dead: int | None = None
    subscriptions: int | None = None


@attrs.frozen
class PlanGauges:
    """The adaptive plan: per (source, language) and per bucket service."""

    next_poll_s: Mapping[tuple[str, str], float] = attrs.field(factory=dict)
    interval_s: Mapping[tuple[str, str], float] = attrs.field(factory=dict)
    learned_rate: Mapping[tuple[str, str], float] = attrs.field(factory=dict)  # per hour
    forecast: Mapping[str, float] = attrs.field(factory=dict)  # requests the plan spends in 24 hours
    spendable: Mapping[str, float] = attrs.field(factory=dict)  # requests a day may use


@attrs.frozen
class ScrapeState:
    """The daemon's state as one scrape reads it (built from the health records; vibed/http/metrics_api.py)."""

    releases_stored: int = 0
    events_published: int = 0
    clients: int = 0
    tokens: Mapping[str, float] = attrs.field(factory=dict)
    sources: Mapping[str, bool] = attrs.field(factory=dict)  # available?
    plan: PlanGauges = attrs.field(factory=PlanGauges)
    webhooks: WebhookCounts | None = None  # None: no sender in this process
    push: PushCounts | None = None  # None: no push sender in this process
    replay: ReplayCounts | None = None  # None: this process serves no stream
    targets: TargetCounts | None = None  # None: no notify sender in this process


class _StateCollector(Collector):
    """Reads the daemon's state at scrape time."""

    def __init__(self, read: Callable[[], ScrapeState]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        state = self.read()
        stored = CounterMetricFamily("vibed_releases_stored", "Releases first seen and stored by this instance")
        stored.add_metric([], state.releases_stored)
        yield stored
        published = CounterMetricFamily("vibed_events_published", "new_release events committed and published")
        published.add_metric([], state.events_published)
        yield published
        clients = GaugeMetricFamily("vibed_sse_clients", "Stream clients connected (SSE and WebSocket)")
        clients.add_metric([], state.clients)
        yield clients
        tokens = GaugeMetricFamily("vibed_bucket_tokens", "Tokens left in the upstream bucket",
                                   labels=["service"])
        for service, value in sorted(state.tokens.items()):
            tokens.add_metric([service], value)
        yield tokens
        yield from _plan_metrics(state.plan)
        up = GaugeMetricFamily("vibed_source_available", "1 while a source may be called", labels=["source"])
        for source, available in sorted(state.sources.items()):
            up.add_metric([source], 1.0 if available else 0.0)
        yield up
        yield from _webhook_metrics(state.webhooks)
        yield from _push_metrics(state.push)
        yield from _replay_metrics(state.replay)
        yield from _target_metrics(state.targets)


def _replay_metrics(replay: ReplayCounts | None) -> Iterator[Metric]:
    """How reconnecting streams were caught up, when this process serves."""
    if replay is None:
        return
    answered = CounterMetricFamily("vibed_stream_replays", "Stream replays by where they were answered from",
                                   labels=["source"])
    answered.add_metric(["memory"], replay.from_memory)
    answered.add_metric(["coalesced"], replay.coalesced)
    yield answered
    queries = CounterMetricFamily("vibed_replay_queries", "Replay queries that reached the database")
    queries.add_metric([], replay.database_queries)
    yield queries
    waiting = GaugeMetricFamily("vibed_replay_waiting", "Streams waiting for a database replay now")
    waiting.add_metric([], replay.waiting)
    yield waiting


@attrs.frozen
class OutboxMetricNames:
    """One outbox's metrics: the kind's own names and help over the shape every outbox shares."""

    attempts: tuple[str, str]  # a counter by outcome: (name, help)
    ok: str  # its outcome label for a success ("delivered", "sent")
    dead_lettered: tuple[str, str]
    queue: tuple[str, str]  # a gauge of the outbox by state
    owners: tuple[str, str]  # a gauge of the owners (paused ones, or all)


WEBHOOK_METRICS = OutboxMetricNames(
    ("vibed_webhook_attempts", "Webhook delivery attempts by this instance"), "delivered",
    ("vibed_webhook_dead_lettered", "Webhook deliveries given up by this instance"),
    ("vibed_webhook_deliveries", "Webhook deliveries in the outbox, by state"),
    ("vibed_webhook_targets_paused", "Webhook subscriptions paused"))
TARGET_METRICS = OutboxMetricNames(
    ("vibed_notify_messages", "Notification-target messages by this instance"), "sent",
    ("vibed_notify_dead_lettered", "Releases given up by this instance's notify sender"),
    ("vibed_notify_outbox", "Releases in the notify outbox, by state"),
    ("vibed_notify_targets_paused", "Notification targets paused"))
PUSH_METRICS = OutboxMetricNames(
    ("vibed_push_attempts", "Web Push delivery attempts by this instance"), "delivered",
    ("vibed_push_dead_lettered", "Web Push deliveries given up by this instance"),
    ("vibed_push_deliveries", "Web Push deliveries in the outbox, by state"),
    ("vibed_push_subscriptions", "Web Push subscriptions"))


def _counter(name: tuple[str, str], value: int) -> Metric:
    counter = CounterMetricFamily(*name)
    counter.add_metric([], value)
    return counter


def _outbox_metrics(names: OutboxMetricNames, ok: int, failed: int, dead_lettered: int,
                    pending: int | None, dead: int | None, owners: int | None,
                    also: Sequence[Metric] = ()) -> Iterator[Metric]:
    """The sender's counts (this instance; ``also``: the kind's own counters) and the outbox (every
    instance's), whose gauges are left out while the database does not answer."""
    attempts = CounterMetricFamily(*names.attempts, labels=["outcome"])
    attempts.add_metric([names.ok], ok)
    attempts.add_metric(["failed"], failed)
    yield attempts
    yield from also
    yield _counter(names.dead_lettered, dead_lettered)
    if pending is not None and dead is not None and owners is not None:
        queue = GaugeMetricFamily(*names.queue, labels=["state"])
        queue.add_metric(["pending"], pending)
        queue.add_metric(["dead"], dead)
        yield queue
        gauge = GaugeMetricFamily(*names.owners)
        gauge.add_metric([], owners)
        yield gauge


def _webhook_metrics(hooks: WebhookCounts | None) -> Iterator[Metric]:
    if hooks is not None:
        yield from _outbox_metrics(WEBHOOK_METRICS, hooks.delivered, hooks.failed, hooks.dead_lettered,
                                   hooks.pending, hooks.dead, hooks.paused)


def _target_metrics(counts: TargetCounts | None) -> Iterator[Metric]:
    if counts is not None:
        releases = _counter(("vibed_notify_releases_sent", "Releases carried by the messages sent"), counts.releases)
        yield from _outbox_metrics(TARGET_METRICS, counts.messages, counts.failed, counts.dead_lettered,
                                   counts.pending, counts.dead, counts.paused, also=[releases])


def _push_metrics(push: PushCounts | None) -> Iterator[Metric]:
    if push is not None:
        gone = _counter(("vibed_push_subscriptions_gone",
                         "Push subscriptions ended by their push service (404/410) at this instance"), push.gone)
        yield from _outbox_metrics(PUSH_METRICS, push.delivered, push.failed, push.dead_lettered,
                                   push.pending, push.dead, push.subscriptions, also=[gone])


def _plan_metrics(plan: PlanGauges) -> Iterator[Metric]:
    """The adaptive plan: per scope and per bucket service."""
    for name, help_text, values in (
        ("vibed_poll_next_seconds", "Seconds until the scope's next planned poll", plan.next_poll_s),
        ("vibed_poll_interval_seconds", "The scope's planned poll interval now", plan.interval_s),
        ("vibed_learned_release_rate", "Learned releases per hour for the scope, this hour", plan.learned_rate),
    ):
        family = GaugeMetricFamily(name, help_text, labels=["source", "language"])
        for (source, scope), value in sorted(values.items()):
            family.add_metric([source, scope], value)
        yield family
    for name, help_text, per_service in (
        ("vibed_budget_forecast_requests", "Requests the plan spends over the next 24 hours", plan.forecast),
        ("vibed_budget_spendable_requests", "Requests a day may use (refill less the reserve)", plan.spendable),
    ):
        family = GaugeMetricFamily(name, help_text, labels=["service"])
        for service, value in sorted(per_service.items()):
            family.add_metric([service], value)
        yield family


@attrs.define(eq=False, slots=False)  # the metric families are set in __attrs_post_init__
class Metrics:
    registry: CollectorRegistry = attrs.field(factory=CollectorRegistry)
    state: ScrapeState = attrs.field(factory=ScrapeState)  # replaced before each scrape

    def __attrs_post_init__(self) -> None:
        r = self.registry
        self.upstream = Counter("vibed_upstream_requests", "Upstream requests by outcome",
                                ["source", "language", "outcome"], registry=r)
        self.restarts = Counter("vibed_actor_restarts", "Actor restarts by actor", ["actor"], registry=r)
        self.http = Counter("vibed_http_requests", "HTTP requests by route and status",
                            ["route", "status"], registry=r)
        # "reused": the stream request came after another request on its connection, as a browser's
        # EventSource usually does; every stream takes the same task-free path either way
        self.streams = Counter("vibed_streams_opened", "Streams opened by kind and connection",
                               ["kind", "connection"], registry=r)
        self.round_seconds = Histogram("vibed_round_duration_seconds", "Duration of a fetch round",
                                       buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300), registry=r)
        self.delivery = Histogram("vibed_event_delivery_seconds",
                                  "From commit to the frame written to the last client",
                                  buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
                                  registry=r)
        self.info = Gauge("vibed_up", "1 while the daemon runs", registry=r)
        self.info.set(1)
        r.register(_StateCollector(lambda: self.state))

    def count_upstream(self, source: str, scope: str, result: Page | Failure) -> None:
        outcome = "ok" if isinstance(result, Page) else result.kind.value
        self.upstream.labels(source, scope, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)


@attrs.define(eq=False)
class MeteredSource:
    """A Source that counts every answer by outcome; otherwise the same Source."""

    inner: Source
    metrics: Metrics

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def service(self) -> str:
        return self.inner.service

    @property
    def available(self) -> bool:
        return self.inner.available

    def scopes(self, languages: Sequence[str]) -> list[str]:
        return self.inner.scopes(languages)

    def reset(self) -> None:
        self.inner.reset()

    async def fetch_page(self, scope: str, page: int) -> Page | Failure:
        result = await self.inner.fetch_page(scope, page)
        self.metrics.count_upstream(self.inner.name, scope, result)
        return result
