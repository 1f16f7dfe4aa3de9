"""The poll planner's arithmetic, driven through a simulated day on trio's autojump clock (no database).

A day is played as the adaptive scheduler plays it: each language is due ``after_poll(interval,
new)`` after its last poll, a poll takes a token from a bucket that refills continuously, and
releases arrive on a schedule with a midnight drop.  The checks are what the issue asks of the
plan: it stays inside the bucket, a quiet language keeps its floor, a burst pulls the next poll in.
"""

from __future__ import annotations

import math

import attrs
import pytest
import trio

from vibed.pipeline import learning, planner

DAY = 86400.0
FLOOR = 600.0  # */10 * * * *


@attrs.define
class ToyBucket:
    """The refill arithmetic of ``rate_limit_tokens`` (the SQL one is tested in test_bucket.py)."""

    tokens: float
    max_tokens: float
    refill_rate: float
    interval_s: float
    at: float = 0.0
    lowest: float = math.inf

    def level(self, now: float) -> float:
        return min(self.max_tokens, self.tokens + self.refill_rate * (now - self.at) / self.interval_s)

    def take(self, now: float) -> bool:
        level = self.level(now)
        self.tokens, self.at = level, now
        if level < 1:
            return False
        self.tokens -= 1
        self.lowest = min(self.lowest, self.tokens)
        return True

    def budget(self, now: float) -> planner.Budget:
        return planner.Budget(self.level(now), self.max_tokens, self.refill_rate, self.interval_s)


def releases_between(language: str, start: float, end: float) -> int:
    """ml: a drop of 12 in the first ten minutes of the day, then 1 an hour; ta: nothing at all."""
    if language != "ml":
        return 0
    drop = sum(1 for k in range(12) if start <= k * 50 < end)
    hourly = sum(1 for h in range(1, 24) if start <= h * 3600 < end)
    return drop + hourly


async def play_day(bucket: ToyBucket, forecast: dict[str, list[float]],
                   hours: float = 24) -> dict[str, list[tuple[float, int]]]:
    """Poll as the adaptive scheduler does for ``hours``; (trio time, new found) per language.

    ``forecast``: releases per hour of the day, from midnight (trio time 0).
    """
    start = trio.current_time()
    polls: dict[str, list[tuple[float, int]]] = {lang: [] for lang in forecast}
    last = {lang: -math.inf for lang in forecast}
    last_new = dict.fromkeys(forecast, 0)
    while (now := trio.current_time() - start) < hours * 3600:
        hour = int(now // 3600) % 24  # the forecast is by hour of day; a plan looks 24 hours ahead
        ahead = {lang: rates[hour:] + rates[:hour] for lang, rates in forecast.items()}
        plan = planner.plan_day(bucket.budget(now), ahead, FLOOR)
        due = {lang: last[lang] + planner.after_poll(plan.interval_s(lang), last_new[lang]) for lang in forecast}
        lang = min(due, key=lambda k: due[k])
        if due[lang] > now:
            await trio.sleep(due[lang] - now)
            continue
        if bucket.take(now):
            last_new[lang] = releases_between(lang, max(0.0, last[lang]), now) if last[lang] >= 0 else 0
            polls[lang].append((now, last_new[lang]))
        last[lang] = now
    return polls


async def test_a_day_of_polls_stays_inside_the_bucket_and_its_reserve(autojump_clock: trio.abc.Clock) -> None:
    bucket = ToyBucket(1000, 1000, 1000, DAY)
    forecast = {"ml": [6.0] + [1.0] * 23, "hi": [0.5] * 24, "ta": [0.0] * 24}
    polls = await play_day(bucket, forecast)
    spent = sum(len(p) for p in polls.values())
    assert spent <= 1000 * (1 - planner.RESERVE) + 12  # the plan, plus the drop's pulled-in polls
    assert bucket.lowest >= 1000 * planner.RESERVE  # never drained, the reserve untouched
    assert len(polls["ml"]) > len(polls["hi"]) > len(polls["ta"])  # spent where releases come


@pytest.mark.parametrize("per_day", [1000.0, 300.0, 50.0])
def test_the_plan_never_forecasts_more_than_the_bucket_refills(per_day: float) -> None:
    budget = planner.Budget(per_day, per_day, per_day, DAY)
    forecast = {f"l{i}": [float(i % 4) * (h % 5)] * 24 for i, h in enumerate(range(10))}
    plan = planner.plan_day(budget, forecast, FLOOR, pages_per_poll=1.3)
    assert plan.forecast <= per_day * (1 - planner.RESERVE) + 1e-6
    assert plan.floor_met == (per_day * 0.9 / 1.3 >= 10 * 144)


def test_a_low_bucket_plans_only_the_floor() -> None:
    forecast = {"ml": [5.0] * 24, "ta": [0.0] * 24}
    full = planner.plan_day(planner.Budget(1000, 1000, 1000, DAY), forecast, FLOOR)
    low = planner.plan_day(planner.Budget(90, 1000, 1000, DAY), forecast, FLOOR)
    assert full.interval_s("ml") < FLOOR
    assert low.paced == 0 and low.interval_s("ml") == pytest.approx(FLOOR)


async def test_a_quiet_language_still_gets_its_floor(autojump_clock: trio.abc.Clock) -> None:
    bucket = ToyBucket(1000, 1000, 1000, DAY)
    polls = await play_day(bucket, {"ml": [20.0] * 24, "hi": [20.0] * 24, "ta": [0.0] * 24})
    times = [t for t, _ in polls["ta"]]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert len(times) >= 144 and max(gaps) <= FLOOR + 1e-6


async def test_a_burst_pulls_the_next_poll_in_then_it_backs_off(autojump_clock: trio.abc.Clock) -> None:
    bucket = ToyBucket(1000, 1000, 1000, DAY)
    polls = await play_day(bucket, {"ml": [1.0] * 24, "hi": [1.0] * 24, "ta": [1.0] * 24}, hours=2)
    ml = polls["ml"]
    gaps = [(b[0] - a[0], a[1]) for a, b in zip(ml, ml[1:], strict=False)]  # (gap, new found before it)
    planned = max(gap for gap, _ in gaps)
    after_burst = [gap for gap, new in gaps if new >= planner.BURST_FROM]
    assert after_burst and max(after_burst) < planned / 1.5  # pulled in while the drop lasts
    assert gaps[-1][0] == pytest.approx(planned)  # and back to the plan once it is quiet


def test_after_poll_pulls_in_by_the_size_of_the_drop() -> None:
    assert planner.after_poll(600, 0) == 600
    assert planner.after_poll(600, 1) == 600
    assert planner.after_poll(600, 2) == 300
    assert planner.after_poll(600, 50) == 150
    assert planner.after_poll(100, 50) == planner.MIN_GAP_S  # never twice in one minute


def test_learned_rates_follow_the_hour_the_releases_came_in() -> None:
    midnight = 1_764_000_000 - 1_764_000_000 % 86400  # a UTC midnight
    batches = [(midnight - 14 * DAY + 3600, 50)]  # the backfill: not a rate
    for day in range(14):
        batches += [(midnight - day * DAY + 120, 6), (midnight - day * DAY + 14 * 3600, 1)]
    now = midnight - 600.0  # ten minutes before midnight
    rates = learning.forecast(batches, now)
    assert rates[1] == pytest.approx(6, rel=0.2)  # 00:00-01:00: six a night
    assert rates[15] == pytest.approx(1, rel=0.2)  # 14:00
    assert rates[6] == pytest.approx(0, abs=0.05)  # 05:00, never anything
    assert learning.forecast([], now) == [0.0] * 24


def test_a_bucket_that_refills_nothing_plans_nothing() -> None:
    plan = planner.plan_day(planner.Budget(5, 5, 0, DAY), {"ml": [3.0] * 24}, FLOOR)
    assert plan.forecast == 0 and plan.interval_s("ml") == DAY and not plan.floor_met


def test_a_floor_the_bucket_cannot_pay_is_thinned_and_the_rest_still_follows_the_rates() -> None:
    forecast = {f"l{i}": [0.0] * 24 for i in range(9)} | {"busy": [8.0] * 24}
    plan = planner.plan_day(planner.Budget(1000, 1000, 1000, DAY), forecast, FLOOR)
    assert not plan.floor_met and plan.forecast == pytest.approx(900)
    assert plan.interval_s("busy") < plan.interval_s("l0") / 3
