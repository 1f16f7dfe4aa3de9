"""Learned release rates: stored first-seen times → a 24-hour forecast of releases per hour.  Pure.

Each release counts at its hour of day and day of week, weighted by ``0.5 ** (age / HALF_LIFE)``;
so does each hour the language was watched (its *exposure*).  A rate is weight over exposure: an
hour seen once with 3 releases says 3/hour; the same hour over four weeks says their decayed mean.
The day-of-week rate is used once that weekday-hour was watched, shrunk towards the hour-of-day
rate; an hour never watched takes the language's overall rate.  The current hour also looks at the
last hour's releases, so a drop is noticed before it is history.

A language's first batch is its backfill (everything upstream already had), not a release rate: it
is left out, and watching starts there.

**The first hour.**  A new install has no history, and a few watched hours say little.  So every
(scope, hour) starts from a prior, the same rate for every language and hour (``prior``: the rate
pooled over every language watched so far, or ``DEFAULT_PRIOR`` before the first hour).  A scope's
own rate is its releases plus ``PRIOR_HOURS`` of the prior's over its exposure plus those hours; an
hour's rate is, likewise, its releases plus ``HOUR_PRIOR_HOURS`` of the scope's rate.  With nothing
watched the budget is spread evenly over (language, hour); as exposure grows the learned rates take
over (after two weeks the prior weighs about 3 %).
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence

from vibed.pipeline.history import Batch

HALF_LIFE_S = 7 * 86400.0
WINDOW_S = 28 * 86400.0  # history older than this is not read
HOUR = 3600.0
PRIOR_HOURS = 6.0  # the pooled prior weighs as much as this many watched hours of the scope
HOUR_PRIOR_HOURS = 0.25  # the scope's own rate weighs as much as this many watched hours of an hour
DEFAULT_PRIOR = 1.0  # releases/hour of a language before anything is watched: the same for each (language, hour)


def _decay(age_s: float) -> float:
    return math.pow(0.5, max(0.0, age_s) / HALF_LIFE_S)


def _exposure(start: float, now: float) -> tuple[dict[int, float], dict[tuple[int, int], float]]:
    """Decayed watched hours per hour of day and per (weekday, hour), from ``start`` to ``now``."""
    by_hour: dict[int, float] = defaultdict(float)
    by_week: dict[tuple[int, int], float] = defaultdict(float)
    t = max(start, now - WINDOW_S)
    while t < now:
        edge = min(now, (math.floor(t / HOUR) + 1) * HOUR)
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        weight = (edge - t) / HOUR * _decay(now - (t + edge) / 2)
        by_hour[when.hour] += weight
        by_week[(when.weekday(), when.hour)] += weight
        t = edge
    return by_hour, by_week


def forecast(batches: Iterable[tuple[float, int]], now: float, prior: float = 0.0) -> list[float]:
    """Releases per hour for the 24 hours from ``now`` (``batches``: (trace epoch, count), any order).

    ``prior``: the rate assumed before anything is watched, the same for every hour."""
    seen = sorted(batches)
    if not seen:
        return [prior] * 24
    start = seen[0][0]
    releases = seen[1:]  # the first batch is the backfill
    exp_hour, exp_week = _exposure(start, now)
    w_hour: dict[int, float] = defaultdict(float)
    w_week: dict[tuple[int, int], float] = defaultdict(float)
    recent = 0.0
    for t, n in releases:
        if t > now:
            continue
        when = dt.datetime.fromtimestamp(t, dt.UTC)
        w = n * _decay(now - t)
        w_hour[when.hour] += w
        w_week[(when.weekday(), when.hour)] += w
        if now - t <= HOUR:
            recent += n
    watched = sum(exp_hour.values())
    # an hour's prior: the scope's own rate over every hour once one is watched, else the pooled one
    base = (sum(w_hour.values()) + prior * PRIOR_HOURS) / (watched + PRIOR_HOURS)  # the scope's own rate
    out = []
    for ahead in range(24):
        when = dt.datetime.fromtimestamp(now + ahead * HOUR, dt.UTC)
        h, key = when.hour, (when.weekday(), when.hour)
        e = exp_hour.get(h, 0.0)
        rate = (w_hour[h] + base * HOUR_PRIOR_HOURS) / (e + HOUR_PRIOR_HOURS)
        ew = exp_week.get(key, 0.0)
        if ew >= 0.25 and sum(exp_week.values()) >= 7 * 24 * 0.5:  # a week watched: weekdays mean something
            rate = (w_week[key] + rate) / (ew + 1.0)
        if ahead == 0:
            rate = max(rate, recent)
        out.append(rate)
    return out


def _same(when: dt.datetime) -> dt.datetime:
    return when


def pooled(per: Mapping[str, Sequence[tuple[float, int]]], now: float) -> float:
    """The uniform prior: releases per watched hour over every scope (backfills left out), or
    ``DEFAULT_PRIOR`` before a scope has been watched for an hour."""
    releases = exposure = 0.0
    for items in per.values():
        seen = sorted(items)
        if seen:
            releases += sum(n for t, n in seen[1:] if t <= now)
            exposure += max(0.0, now - max(seen[0][0], now - WINDOW_S)) / HOUR
    return releases / exposure if exposure >= 1.0 else DEFAULT_PRIOR


def forecasts(batches: Sequence[Batch], languages: Sequence[str], now: dt.datetime,
              to_trace: Callable[[dt.datetime], dt.datetime] | None = None,
              prior: float | None = 0.0) -> Mapping[str, list[float]]:
    """Per language, ``forecast`` of its batches (``to_trace`` maps a stored instant to scheduler time).

    ``prior`` None: the uniform prior pooled over these languages (``pooled``)."""
    convert = to_trace if to_trace is not None else _same
    per: dict[str, list[tuple[float, int]]] = {lang: [] for lang in languages}
    for b in batches:
        if b.language in per:
            per[b.language].append((convert(b.first_seen).timestamp(), b.count))
    at = now.timestamp()
    chosen = pooled(per, at) if prior is None else prior
    return {lang: forecast(items, at, chosen) for lang, items in per.items()}
