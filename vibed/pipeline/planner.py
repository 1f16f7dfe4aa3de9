"""The poll planner: the day's budget from the bucket, spent where releases come.  Pure logic, no I/O.

    budget = Budget(tokens=…, max_tokens=1000, refill_rate=1000, interval_s=86400)
    plan = plan_day(budget, forecast={"ml": [r0, r1, … r23]}, floor_s=600)
    plan.interval_s("ml")          # seconds until ml's next poll, this hour

* **Budget.**  What the bucket refills in a day, less a reserve (10 %) kept for pokes, back-off retries
  and backfill, divided by the pages a poll costs: that many polls may be planned.  Below the reserve
  level only the floor is planned, so the planner never drains the bucket.
* **Floor.**  Every scope is polled at least once per cron period (``VIBED_SCHEDULE`` stays the slowest
  guaranteed cadence) — unless the floor alone exceeds the budget, when it is thinned evenly to half
  the budget, and the other half is spread as below.
* **Spread.**  The polls above the floor go to (scope, hour) pairs in proportion to the square root of
  the forecast release rate: with ``n`` polls an hour a release waits ``30/n`` minutes on average, and
  minimising ``Σ rate/n`` under ``Σ n = N`` gives ``n ∝ √rate``.  A minimum gap between two polls of one
  scope caps any hour (never twice in one minute).
* **Followed artists.**  An artist's page is a scope like a language, on the same budget, with a floor of
  its own (``floors``: far slower than the cron's, since its releases in the watched languages are found
  by those languages' polls) and a weight from its rate outside them; a quiet scope's weight floor
  (``EPSILON``) shrinks with its floor, so twenty quiet artists do not outweigh one language.
* **Bursts.**  ``after_poll`` pulls the next poll in when a poll found several new releases (they come
  in drops), and lets it go back out as the scope quiets.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import attrs

DAY = 86400.0
RESERVE = 0.10  # of the day's refill, and of the bucket's level: never planned
MIN_GAP_S = 60.0  # two polls of one scope are at least this far apart
BURST_FROM = 2  # new releases in one poll that make it a burst
BURST_MAX = 4  # a burst divides the next interval by at most this
FLOOR_SHARE = 0.5  # of the budget, the thinned floor's when the cron's cadence is more than it can pay
EPSILON = 0.02  # releases/hour assumed for an hour with no history, so no hour is weightless


@attrs.frozen
class Budget:
    """The bucket as the planner needs it (``vibed.store.bucket.BucketState``)."""

    tokens: float
    max_tokens: float
    refill_rate: float  # tokens per interval_s
    interval_s: float

    @property
    def per_day(self) -> float:
        return self.refill_rate * DAY / self.interval_s if self.interval_s > 0 else 0.0


@attrs.frozen
class ScopePlan:
    scope: str
    polls_per_hour: tuple[float, ...]  # for the next 24 hours, this one first
    rate_per_hour: float  # the forecast release rate this hour

    @property
    def interval_s(self) -> float:
        polls = self.polls_per_hour[0]
        return 3600.0 / polls if polls > 0 else DAY  # a bucket that refills nothing: nothing planned


@attrs.frozen
class Plan:
    scopes: Mapping[str, ScopePlan]
    spendable: float  # requests the day may use (refill less the reserve)
    forecast: float  # requests the plan spends in the next 24 hours
    floor_s: float
    floor_met: bool  # False: the floor alone is more than the budget, so it was thinned
    paced: float  # 1 = full plan; < 1 the bucket is low and polls above the floor are cut

    def interval_s(self, scope: str) -> float:
        return self.scopes[scope].interval_s


def pacing(budget: Budget, reserve: float = RESERVE) -> float:
    """1 while the bucket is at least half full, falling to 0 at the reserve level."""
    if budget.max_tokens <= 0:
        return 0.0
    level = budget.tokens / budget.max_tokens
    return min(1.0, max(0.0, (level - reserve) / max(1e-9, 0.5 - reserve)))


def plan_day(budget: Budget, forecast: Mapping[str, Sequence[float]], floor_s: float, *,
             pages_per_poll: float = 1.0, reserve: float = RESERVE, min_gap_s: float = MIN_GAP_S,
             floors: Mapping[str, float] | None = None) -> Plan:
    """Polls per hour for each scope over the next 24 hours (``forecast``: releases/hour, 24 values).

    ``floors``: a slowest cadence (seconds) of its own for some scopes (followed artists), else ``floor_s``."""
    scopes = sorted(forecast)
    cost = max(1.0, pages_per_poll)
    spendable = budget.per_day * (1 - reserve)
    if not scopes:
        return Plan({}, spendable, 0.0, floor_s, True, pacing(budget, reserve))
    cap = 3600.0 / min_gap_s  # polls per hour of one scope
    own = floors or {}
    # polls per hour of each scope at its floor's cadence (the cron's for languages)
    floor = {s: min(cap, 3600.0 / max(own.get(s, floor_s), min_gap_s)) for s in scopes}
    polls_total = spendable / cost  # per day
    floor_total = sum(floor.values()) * 24
    floor_met = floor_total <= polls_total
    if not floor_met:  # the bucket wins over the cron: half the budget keeps an even, thinner floor,
        floor = {s: f * FLOOR_SHARE * polls_total / floor_total for s, f in floor.items()}  # the other half
    paced = pacing(budget, reserve)  # still goes where releases come
    extra = max(0.0, polls_total - sum(floor.values()) * 24) * paced
    weights = {s: [math.sqrt(max(0.0, r) + EPSILON * min(1.0, floor_s / own.get(s, floor_s)))
                   for r in _day(forecast[s])] for s in scopes}
    total_weight = sum(sum(w) for w in weights.values())
    plans = {}
    spent = 0.0
    for s in scopes:
        hours = tuple(min(cap, floor[s] + extra * w / total_weight) for w in weights[s])
        plans[s] = ScopePlan(s, hours, max(0.0, _day(forecast[s])[0]))
        spent += sum(hours) * cost
    return Plan(plans, spendable, spent, floor_s, floor_met, paced)


def _day(rates: Sequence[float]) -> list[float]:
    values = list(rates)[:24]
    return values + [values[-1] if values else 0.0] * (24 - len(values))


def after_poll(planned_s: float, new: int, min_gap_s: float = MIN_GAP_S) -> float:
    """The interval to the next poll of a scope whose last poll found ``new`` new releases.

    A burst pulls the next poll in (``new`` times sooner, at most ``BURST_MAX``); a quieter poll
    puts it back to the plan.  Since every poll decides afresh, a drop is followed closely while it
    lasts and the cadence falls back on its own.
    """
    if new < BURST_FROM:
        return planned_s
    return max(min_gap_s, planned_s / min(new, BURST_MAX))
