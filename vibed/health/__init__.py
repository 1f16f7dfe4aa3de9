"""Health as records: each service reports one, and ``HealthReport`` joins them.

    PipelineHealth ─┐                       /api/health  (to_json, once)
    DeliveryHealth ─┼─► HealthReport ──────► vibed status (from_json, then the same record)
    WebhooksHealth ─┘   .status, .reasons()  /metrics     (the same service records)

A reason is one short sentence; ``status`` follows from them: ``unavailable`` while the
database does not answer, ``degraded`` while any reason stands, else ``ok``.  Nothing is a
backend's address: an error that quotes one is cut before it reaches a record.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

import attrs

from vibed.config.parsing import Role
from vibed.supervisor import ActorState

Status = Literal["ok", "degraded", "unavailable"]
ScopeState = Literal["ok", "backing_off", "suspect_empty", "blocked"]
_ADDRESS = re.compile(
    r"\b[a-z][a-z0-9+.-]*://\S+"  # a URL
    r"|\[[0-9a-f:.]+\](?::\d+)?"  # [IPv6] or [IPv6]:port
    r"|\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?"  # IPv4 or IPv4:port
    r"|\b(?:[a-z0-9-]+\.)*[a-z][a-z0-9-]*:\d{1,5}\b",  # host:port
    re.IGNORECASE)


def without_addresses(text: str | None) -> str | None:
    """An error as health may show it: URLs, ``host:port`` and IP addresses replaced by ``…``."""
    return None if text is None else _ADDRESS.sub("…", text)


@attrs.frozen
class ScopeReport:
    state: ScopeState
    last_success: str | None  # ISO 8601, UTC
    consecutive_failures: int
    backing_off_until: str | None
    last_error: str | None
    empty_streak: int


@attrs.frozen
class SourceHealth:
    available: bool
    scopes: Mapping[str, ScopeReport]


@attrs.frozen
class BucketHealth:
    tokens: float
    max_tokens: float
    next_token_s: float | None


@attrs.frozen
class RoundSummary:
    id: str
    origin: str
    requests: int
    new: int


@attrs.frozen
class PipelineHealth:
    sources: Mapping[str, SourceHealth]
    buckets: Mapping[str, BucketHealth]
    rounds: int
    last_round: RoundSummary | None
    polling: Mapping[str, Any]  # the polling plan (adaptive: per scope and bucket; cron: the next tick)
    last_fetch_age_s: float | None  # since any process of the deployment last fetched a scope completely
    stale_after_s: float  # VIBED_STALE_AFTER


@attrs.frozen
class BusHealth:
    kind: Literal["local", "redis"]
    state: Literal["ok", "degraded"]
    error: str | None = None
    reconnects: int = 0
    for_s: float = 0.0
    round_trip_ms: float | None = None


@attrs.frozen
class StreamsHealth:
    sse: int
    websocket: int
    max: int
    slow_disconnects: int
    last_event_id: int
    replay: Mapping[str, Any] = attrs.field(factory=dict)  # the replayer's counters (delivery/replay.py)
    recent: Mapping[str, Any] = attrs.field(factory=dict)  # the ring of recent events: size and floor id


@attrs.frozen
class DeliveryHealth:
    bus: BusHealth
    streams: StreamsHealth


@attrs.frozen
class WebhooksHealth:
    targets: int
    paused: tuple[str, ...]  # ids, never URLs: a webhook URL can be a credential
    pending: int
    dead: int


@attrs.frozen
class ActorHealth:
    state: ActorState
    restarts: int
    last_error: str | None


@attrs.frozen
class HealthReport:
    version: str
    role: Role
    uptime_s: float
    database_reachable: bool
    embedded: bool
    actors: Mapping[str, ActorHealth]
    pipeline: PipelineHealth | None = None
    delivery: DeliveryHealth | None = None
    webhooks: WebhooksHealth | None = None
    incomplete: tuple[str, ...] = ()  # parts that missed the deadline or failed

    @property
    def status(self) -> Status:
        if not self.database_reachable:
            return "unavailable"
        return "degraded" if self.reasons() else "ok"

    def reasons(self) -> list[str]:
        from vibed.health.reasons import reasons

        return reasons(self)

    def to_json(self) -> dict[str, Any]:
        from vibed.health.render import to_json

        return to_json(self)

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> HealthReport:
        """The record back from ``to_json``'s JSON (``vibed status`` reads a daemon's answer so)."""
        from vibed.health.render import from_json

        return from_json(body)
