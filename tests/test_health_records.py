"""Health as records, without a daemon: each condition is one reason, ``status`` follows from them, and the
JSON that /api/health renders reads back as the same record (``vibed status`` reads it so)."""

from __future__ import annotations

import attrs
import pytest

from vibed.health import (
    ActorHealth,
    BucketHealth,
    BusHealth,
    DeliveryHealth,
    EdgeHealth,
    HealthReport,
    PipelineHealth,
    PollingPlan,
    ScopeReport,
    SourceHealth,
    StreamsHealth,
    WebhooksHealth,
)
from vibed.health.render import from_json, to_json

HOUR = 3600.0
FULL = BucketHealth(tokens=500.0, max_tokens=1000.0, next_token_s=None)


def pipeline(**changes: object) -> PipelineHealth:
    base = PipelineHealth(sources={"jiosaavn": SourceHealth(True, {})}, buckets={"jiosaavn": FULL}, rounds=1,
                          last_round=None, polling=PollingPlan("cron", next_round="2026-12-02T19:00:00Z"),
                          last_fetch_age_s=60.0, stale_after_s=HOUR)
    return attrs.evolve(base, **changes)


def report(**changes: object) -> HealthReport:
    streams = StreamsHealth(sse=0, websocket=0, max=100, slow_disconnects=0, last_event_id=0)
    base = HealthReport(version="0.1.0", role="all", uptime_s=2 * HOUR, database_reachable=True, embedded=False,
                        actors={"writer": ActorHealth("running", 0, None)}, pipeline=pipeline(),
                        delivery=DeliveryHealth(BusHealth("local", "ok"), streams),
                        webhooks=WebhooksHealth(targets=0, paused=(), pending=0, dead=0),
                        edge=EdgeHealth(port=5006, cache_entries=3, cache_hits=10, cache_misses=4))
    return attrs.evolve(base, **changes)


def scope(**changes: object) -> ScopeReport:
    return attrs.evolve(ScopeReport("ok", None, 0, None, None, 0), **changes)


@pytest.mark.parametrize(("changes", "reason"), [
    ({"database_reachable": False}, "database: not answering"),
    ({"actors": {"fetcher-1": ActorHealth("restarting", 2, "boom")}}, "actor fetcher-1: restarting"),
    ({"delivery": DeliveryHealth(BusHealth("redis", "degraded"), StreamsHealth(0, 0, 0, 0, 0))}, "bus: degraded"),
    ({"pipeline": pipeline(last_fetch_age_s=2 * HOUR)},
     "fetch: no fetch has succeeded anywhere in the deployment for 2h00m (VIBED_STALE_AFTER=1h00m)"),
    ({"pipeline": pipeline(last_fetch_age_s=None), "uptime_s": 90 * 60.0},
     "fetch: no fetch has succeeded anywhere in the deployment in 1h30m (VIBED_STALE_AFTER=1h00m)"),
    ({"pipeline": pipeline(buckets={"jiosaavn": BucketHealth(0.4, 1000.0, 86.0)})},
     "bucket jiosaavn: empty (0.4 of 1000 tokens; the next token in 86 s)"),
    ({"pipeline": pipeline(sources={"spotify": SourceHealth(False, {})})},
     "spotify: gone for this account (new-releases answered 403/404)"),
    ({"pipeline": pipeline(sources={"jiosaavn": SourceHealth(True, {"ml": scope(state="blocked", consecutive_failures=1,
                                                                                last_error="blocked: HTTP 403")})})},
     "jiosaavn/ml: blocked by upstream (blocked: HTTP 403)"),
    ({"pipeline": pipeline(sources={"jiosaavn": SourceHealth(True, {"hi": scope(state="suspect_empty",
                                                                                empty_streak=3)})})},
     "jiosaavn/hi: suspiciously empty for 3 runs"),
    ({"pipeline": pipeline(sources={"jiosaavn": SourceHealth(True, {"ta": scope(state="backing_off",
                                                                                consecutive_failures=3,
                                                                                last_error="timeout")})})},
     "jiosaavn/ta: failed 3 runs in a row (timeout)"),
    ({"webhooks": WebhooksHealth(targets=1, paused=("wh_1",), pending=0, dead=0)},
     "webhook wh_1: paused after failing repeatedly (POST /api/webhooks/wh_1/redeliver resumes it)"),
])
def test_each_condition_is_one_reason_and_sets_the_status(changes: dict[str, object], reason: str) -> None:
    healthy = report()
    assert (healthy.status, healthy.reasons()) == ("ok", [])
    sick = report(**changes)
    expected = "unavailable" if not sick.database_reachable else "degraded"
    assert (sick.status, sick.reasons()) == (expected, [reason])
    body = to_json(sick)
    assert (body["status"], body["reasons"]) == (expected, [reason])
    assert from_json(body) == sick


def test_a_young_deployment_that_never_fetched_is_not_yet_stale() -> None:
    young = report(pipeline=pipeline(last_fetch_age_s=None), uptime_s=HOUR - 1)
    assert (young.status, young.reasons()) == ("ok", [])


def test_two_failing_runs_are_not_yet_a_reason() -> None:
    two = report(pipeline=pipeline(sources={"jiosaavn": SourceHealth(True, {"ml": scope(consecutive_failures=2)})}))
    assert two.reasons() == []
