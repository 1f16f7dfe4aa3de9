"""Prometheus metrics (``GET /metrics``), one registry per daemon.

Counters that only exist at the moment something happens (an upstream answer, an HTTP
response, a restart, a finished round, a delivered frame) are incremented by small hooks;
everything that is state (tokens, clients, stored totals) is read when scraped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import attrs
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from vibed.vocab.messages import Failure, Page
from vibed.vocab.source import Source

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class _StateCollector(Collector):
    """Reads the daemon's state at scrape time."""

    def __init__(self, read: Callable[[], dict[str, Any]]) -> None:
        self.read = read

    def collect(self) -> Iterator[Metric]:
        state = self.read()
        stored = CounterMetricFamily("vibed_releases_stored", "Releases first seen and stored by this instance")
        stored.add_metric([], state.get("releases_stored", 0))
        yield stored
        published = CounterMetricFamily("vibed_events_published", "new_release events committed and published")
        published.add_metric([], state.get("events_published", 0))
        yield published
        clients = GaugeMetricFamily("vibed_sse_clients", "Stream clients connected (SSE and WebSocket)")
        clients.add_metric([], state.get("clients", 0))
        yield clients
        tokens = GaugeMetricFamily("vibed_bucket_tokens", "Tokens left in the upstream bucket",
                                   labels=["service"])
        for service, value in sorted(state.get("tokens", {}).items()):
            tokens.add_metric([service], value)
        yield tokens
        yield from _plan_metrics(state.get("polling") or {})
        up = GaugeMetricFamily("vibed_source_available", "1 while a source may be called", labels=["source"])
        for source, available in sorted(state.get("sources", {}).items()):
            up.add_metric([source], 1.0 if available else 0.0)
        yield up
        yield from _webhook_metrics(state.get("webhooks"))
        yield from _replay_metrics(state.get("replay"))


def _replay_metrics(replay: Any) -> Iterator[Metric]:
    """How reconnecting streams were caught up (a ``ReplayStatistics``, when this process serves)."""
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


def _webhook_metrics(hooks: dict[str, Any] | None) -> Iterator[Metric]:
    """The sender's counts (this instance) and the outbox (every instance's), when webhooks run."""
    if not hooks:
        return
    attempts = CounterMetricFamily("vibed_webhook_attempts", "Webhook delivery attempts by this instance",
                                   labels=["outcome"])
    for outcome in ("delivered", "failed"):
        attempts.add_metric([outcome], hooks.get(outcome, 0))
    yield attempts
    dead = CounterMetricFamily("vibed_webhook_dead_lettered", "Webhook deliveries given up by this instance")
    dead.add_metric([], hooks.get("dead_lettered", 0))
    yield dead
    if "queue" in hooks:  # absent while the database does not answer
        queue = GaugeMetricFamily("vibed_webhook_deliveries", "Webhook deliveries in the outbox, by state",
                                  labels=["state"])
        for state in ("pending", "dead"):
            queue.add_metric([state], hooks["queue"][state])
        yield queue
        paused = GaugeMetricFamily("vibed_webhook_targets_paused", "Webhook subscriptions paused")
        paused.add_metric([], hooks["queue"]["paused"])
        yield paused


def _plan_metrics(polling: dict[str, Any]) -> Iterator[Metric]:
    """The adaptive plan (``AdaptiveScheduler.snapshot``): per scope and per bucket service."""
    per_scope = (("vibed_poll_next_seconds", "Seconds until the scope's next planned poll", "next_poll_in_s"),
                 ("vibed_poll_interval_seconds", "The scope's planned poll interval now", "interval_s"),
                 ("vibed_learned_release_rate", "Learned releases per hour for the scope, this hour",
                  "learned_rate_per_hour"))
    for name, help_text, key in per_scope:
        family = GaugeMetricFamily(name, help_text, labels=["source", "language"])
        for source, scopes in sorted(polling.get("scopes", {}).items()):
            for scope, values in sorted(scopes.items()):
                family.add_metric([source, scope], values[key])
        yield family
    for name, help_text, key in (
        ("vibed_budget_forecast_requests", "Requests the plan spends over the next 24 hours", "forecast_per_day"),
        ("vibed_budget_spendable_requests", "Requests a day may use (refill less the reserve)",
         "spendable_per_day"),
    ):
        family = GaugeMetricFamily(name, help_text, labels=["service"])
        for service, values in sorted(polling.get("budget", {}).items()):
            family.add_metric([service], values[key])
        yield family


@attrs.define(eq=False, slots=False)  # the metric families are set in __attrs_post_init__
class Metrics:
    registry: CollectorRegistry = attrs.field(factory=CollectorRegistry)
    state: dict[str, Any] = attrs.field(factory=dict)  # refreshed before each scrape

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
