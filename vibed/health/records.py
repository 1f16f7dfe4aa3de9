"""The records of health: what each service reports, each field typed; nothing holds a backend's address."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

import attrs

from vibed.config.parsing import Polling
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
class ScopePoll:
    """One scope in the adaptive plan: when it is polled next, how often, at what learned rate."""

    next_poll: str  # ISO 8601, UTC
    next_poll_in_s: float
    interval_s: float
    learned_rate_per_hour: float


@attrs.frozen
class BudgetPoll:
    """One bucket service in the adaptive plan: what a day may spend, and what the plan spends."""

    spendable_per_day: float
    forecast_per_day: float
    reserve: float
    paced: float  # 1 = the full plan; below 1 the bucket is low and polls above the floor are cut
    floor_met: bool
    floor_s: float


@attrs.frozen
class PollingPlan:
    mode: Polling
    fetching: bool = True  # False in a serve process: the fetch process plans the polls
    next_round: str | None = None  # cron: the next tick
    scopes: Mapping[str, Mapping[str, ScopePoll]] = attrs.field(factory=dict)  # adaptive: source -> scope
    budget: Mapping[str, BudgetPoll] = attrs.field(factory=dict)  # adaptive: per bucket service
    pages_per_poll: float | None = None
    burst_share: float | None = None  # of polls, those a burst pulled in


@attrs.frozen
class PipelineHealth:
    sources: Mapping[str, SourceHealth]
    buckets: Mapping[str, BucketHealth]
    rounds: int
    last_round: RoundSummary | None
    polling: PollingPlan
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
class ReplayHealth:
    """How reconnecting streams were caught up (the replayer's counters, vibed/delivery/replay.py)."""

    from_memory: int = 0
    database_queries: int = 0  # flights that reached the database
    coalesced: int = 0  # clients answered by another client's flight
    waiting: int = 0  # clients whose flight is queued or running now


@attrs.frozen
class RecentHealth:
    """The ring of recent events a reconnecting stream is replayed from."""

    events: int = 0
    floor: int = 0  # every event with an id above this is held


@attrs.frozen
class StreamsHealth:
    sse: int
    websocket: int
    max: int
    slow_disconnects: int
    last_event_id: int
    replay: ReplayHealth = attrs.field(factory=lambda: ReplayHealth())
    recent: RecentHealth = attrs.field(factory=lambda: RecentHealth())


@attrs.frozen
class DeliveryHealth:
    bus: BusHealth
    streams: StreamsHealth


@attrs.frozen
class EdgeHealth:
    """The HTTP side of this process: the port it listens on and its cache of held answers."""

    port: int
    cache_entries: int
    cache_hits: int
    cache_misses: int


@attrs.frozen
class WebhooksHealth:
    targets: int
    paused: tuple[str, ...]  # ids, never URLs: a webhook URL can be a credential
    pending: int
    dead: int


@attrs.frozen
class TargetsHealth:
    """Notification targets (Apprise): how many, the paused ones by id (never URLs: a URL is a credential),
    and their outbox's releases by state."""

    targets: int
    paused: tuple[int, ...]
    pending: int
    dead: int


@attrs.frozen
class PushHealth:
    subscriptions: int
    pending: int  # deliveries in the push outbox, every instance's
    dead: int


@attrs.frozen
class ActorHealth:
    state: ActorState
    restarts: int
    last_error: str | None
