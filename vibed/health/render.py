"""``HealthReport`` as the JSON of ``GET /api/health`` (the shape its OpenAPI schema names), and back.

``to_json`` is the one rendering (/api/health); ``from_json`` is how ``vibed status`` reads a
daemon's answer back into the record it came from.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from typing import Any

import attrs

from vibed.health.records import (
    ActorHealth,
    BucketHealth,
    BusHealth,
    DeliveryHealth,
    EdgeHealth,
    PipelineHealth,
    PollingPlan,
    PushHealth,
    RoundSummary,
    SourceHealth,
    StreamsHealth,
    TargetsHealth,
    WebhooksHealth,
)
from vibed.health.report import HealthReport


def to_json(report: HealthReport) -> dict[str, Any]:
    body: dict[str, Any] = {
        "status": report.status,
        "version": report.version,
        "role": report.role,
        "uptime_s": report.uptime_s,
        "database": {"reachable": report.database_reachable, "embedded": report.embedded},
        "actors": {name: attrs.asdict(a) for name, a in report.actors.items()},
    }
    if report.delivery is not None:
        body["bus"] = attrs.asdict(report.delivery.bus)
        body["streams"] = attrs.asdict(report.delivery.streams)
    pipeline = report.pipeline
    if pipeline is not None:
        body["sources"] = {name: attrs.asdict(s) for name, s in pipeline.sources.items()}
        body["buckets"] = {name: attrs.asdict(b) for name, b in pipeline.buckets.items()}
        body["rounds"] = {"count": pipeline.rounds,
                          "last": None if pipeline.last_round is None else attrs.asdict(pipeline.last_round)}
        body["polling"] = attrs.asdict(pipeline.polling, filter=lambda _, value: value is not None)
        body["fetch"] = {"last_success_age_s": pipeline.last_fetch_age_s, "stale_after_s": pipeline.stale_after_s}
    if report.webhooks is not None:
        body["webhooks"] = attrs.asdict(report.webhooks)
    if report.notify_targets is not None:
        body["notify_targets"] = attrs.asdict(report.notify_targets)
    if report.push is not None:
        body["push"] = attrs.asdict(report.push)
    if report.edge is not None:
        body["edge"] = attrs.asdict(report.edge)
    if report.incomplete:
        body["incomplete"] = list(report.incomplete)
    body["reasons"] = report.reasons()
    return body


def from_json(body: Mapping[str, Any]) -> HealthReport:
    pipeline = None
    if "sources" in body:
        rounds = body.get("rounds", {})
        fetch = body.get("fetch", {})
        pipeline = PipelineHealth(
            sources=_structure(Mapping[str, SourceHealth], body["sources"]),
            buckets=_structure(Mapping[str, BucketHealth], body.get("buckets", {})),
            rounds=rounds.get("count", 0), last_round=_structure(RoundSummary | None, rounds.get("last")),
            polling=_structure(PollingPlan, body.get("polling", {"mode": "cron"})), last_fetch_age_s=fetch.get("last_success_age_s"),
            stale_after_s=fetch.get("stale_after_s", 0.0))
    delivery = None
    if "bus" in body and "streams" in body:
        delivery = DeliveryHealth(_structure(BusHealth, body["bus"]), _structure(StreamsHealth, body["streams"]))
    database = body.get("database", {})
    return HealthReport(
        version=body.get("version", "?"), role=body.get("role", "all"), uptime_s=body.get("uptime_s", 0.0),
        database_reachable=bool(database.get("reachable")), embedded=bool(database.get("embedded")),
        actors=_structure(Mapping[str, ActorHealth], body.get("actors", {})),
        pipeline=pipeline, delivery=delivery,
        webhooks=_structure(WebhooksHealth | None, body.get("webhooks")),
        notify_targets=_structure(TargetsHealth | None, body.get("notify_targets")),
        push=_structure(PushHealth | None, body.get("push")),
        edge=_structure(EdgeHealth | None, body.get("edge")),
        incomplete=tuple(body.get("incomplete", ())))


def _structure(kind: Any, value: Any) -> Any:
    """``value`` (JSON) as ``kind``: attrs records by field, mappings and tuples by item type."""
    if value is None:
        return None
    origin = typing.get_origin(kind)
    if attrs.has(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: _structure(hints[f.name], value[f.name])
                       for f in attrs.fields(kind) if f.name in value})
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(kind) if a is not type(None)]
        return _structure(options[0], value) if len(options) == 1 else value
    if origin is Mapping or origin is dict or (isinstance(origin, type) and issubclass(origin, Mapping)):
        _, item = typing.get_args(kind)
        return {k: _structure(item, v) for k, v in value.items()}
    if origin is tuple:
        return tuple(_structure(typing.get_args(kind)[0], v) for v in value)
    return value
