"""The planner's first hour and its one budget, without I/O (the pure planner and learning; autojump clock).

A new install has no history: the budget is spread under a uniform prior over (language, hour), and
the learned rates take over as they arrive.  Followed artists are scopes on the same bucket: a day
of polls, languages and artists together, never spends more than the bucket refills.
"""

from __future__ import annotations

import math

import pytest
import trio

from tests.test_planner import ToyBucket
from vibed.pipeline import learning, planner
from vibed.pipeline.adaptive import ARTIST_FLOOR_S, ARTIST_PRIOR
from vibed.pipeline.history import Batch

DAY = 86400.0
FLOOR = 600.0
NOON = 1_764_000_000 - 1_764_000_000 % 86400 + 12 * 3600.0  # a UTC noon
LANGS = ("ml", "hi", "ta")


def test_an_empty_history_spreads_the_whole_budget_evenly_over_language_and_hour() -> None:
    import datetime as dt

    rates = learning.forecasts([], LANGS, dt.datetime.fromtimestamp(NOON, dt.UTC), prior=None)
    assert all(r == [learning.DEFAULT_PRIOR] * 24 for r in rates.values())
    plan = planner.plan_day(planner.Budget(1000, 1000, 1000, DAY), rates, FLOOR)
    hours = {p.polls_per_hour for p in plan.scopes.values()}
    assert len(hours) == 1 and len(set(next(iter(hours)))) == 1  # every (language, hour) alike
    assert plan.forecast == pytest.approx(plan.spendable)  # and all of it spent, not only the floor
    assert plan.interval_s("ml") < FLOOR / 2  # so more often than cron from the first round


def test_a_language_quiet_in_its_first_hours_keeps_its_share_until_it_is_known() -> None:
    start = NOON - 2 * 3600  # two hours watched: ml had two drops, hi and ta nothing yet
    per = {"ml": [(start, 40), (start + 1800, 3), (start + 5400, 3)], "hi": [(start, 40)], "ta": [(start, 40)]}
    prior = learning.pooled(per, NOON)
    assert prior == pytest.approx(6 / 6)  # six releases in six watched language-hours
    rates = {lang: learning.forecast(items, NOON, prior) for lang, items in per.items()}
    plan = planner.plan_day(planner.Budget(1000, 1000, 1000, DAY), rates, FLOOR)
    later = lambda lang: sum(plan.scopes[lang].polls_per_hour[3:])  # noqa: E731 - hours not watched yet
    assert later("hi") > 0.5 * later("ml")  # two quiet hours do not make a quiet language


def test_the_learned_rates_take_over_as_history_grows() -> None:
    midnight = NOON - 12 * 3600
    batches = [(midnight - 14 * DAY, 50)]
    for day in range(14):
        batches += [(midnight - day * DAY + 120, 6), (midnight - day * DAY + 14 * 3600, 1)]
    learned = learning.forecast(batches, midnight - 600)
    with_prior = learning.forecast(batches, midnight - 600, prior=5.0)
    for a, b in zip(learned, with_prior, strict=True):
        assert b == pytest.approx(a, abs=0.15)  # two weeks watched: the prior is all but gone


def test_artists_have_their_own_floor_and_share_the_languages_budget() -> None:
    rates = {lang: [learning.DEFAULT_PRIOR] * 24 for lang in LANGS}
    artists = {f"artist:{i}": [ARTIST_PRIOR] * 24 for i in range(20)}
    plan = planner.plan_day(planner.Budget(1000, 1000, 1000, DAY), rates | artists, FLOOR,
                            floors=dict.fromkeys(artists, ARTIST_FLOOR_S))
    assert plan.floor_met and plan.forecast <= plan.spendable + 1e-6
    assert all(plan.interval_s(a) <= ARTIST_FLOOR_S for a in artists)
    languages = sum(sum(plan.scopes[lang].polls_per_hour) for lang in LANGS)
    assert languages > 0.6 * plan.forecast  # twenty quiet artists do not outweigh three languages


async def test_a_day_of_language_and_artist_polls_stays_inside_one_bucket(autojump_clock: trio.abc.Clock) -> None:
    bucket = ToyBucket(1000, 1000, 1000, DAY)
    rates = {lang: [learning.DEFAULT_PRIOR] * 24 for lang in LANGS}
    artists = {f"artist:{i}": [ARTIST_PRIOR * (1 + 20 * (i < 5))] * 24 for i in range(20)}
    floors = dict.fromkeys(artists, ARTIST_FLOOR_S)
    forecast = rates | artists
    last = dict.fromkeys(forecast, -math.inf)
    polls = dict.fromkeys(forecast, 0)
    refused = 0
    while (now := trio.current_time()) < DAY:
        plan = planner.plan_day(bucket.budget(now), forecast, FLOOR, floors=floors)
        due = {scope: last[scope] + plan.interval_s(scope) for scope in forecast}
        scope = min(due, key=lambda k: due[k])
        if due[scope] > now:
            await trio.sleep(due[scope] - now)
            continue
        if bucket.take(now):
            polls[scope] += 1
        else:
            refused += 1
        last[scope] = now
    # languages and artists: one budget (each scope's first poll at 0 opens its first interval)
    assert sum(polls.values()) <= 1000 * (1 - planner.RESERVE) + len(forecast)
    assert bucket.lowest >= 1000 * planner.RESERVE and refused == 0
    assert all(polls[lang] >= 144 for lang in LANGS)  # the cron floor kept
    assert all(polls[a] >= DAY / ARTIST_FLOOR_S for a in artists)  # each artist at least at its floor
    assert min(polls[f"artist:{i}"] for i in range(5)) > max(polls[f"artist:{i}"] for i in range(5, 20))


def test_batches_are_the_languages_only() -> None:
    import datetime as dt

    at = dt.datetime.fromtimestamp(NOON, dt.UTC)
    rates = learning.forecasts([Batch("ml", at, 3)], ["ml"], at, prior=0.0)
    assert rates["ml"] == [0.0] * 24  # a lone first batch is the backfill
