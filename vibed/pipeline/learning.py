"""Learned release rates: stored first-seen times → a 24-hour forecast of releases per hour.  Pure.

Each release counts at its hour of day and day of week, weighted by ``0.5 ** (age / HALF_LIFE)``;
so does each hour the language was watched (its *exposure*).  A rate is weight over exposure: an
hour seen once with 3 releases says 3/hour; the same hour over four weeks says their decayed mean.
The day-of-week rate is used once that weekday-hour was watched, shrunk towards the hour-of-day
rate; an hour never watched takes the language's overall rate.  The current hour also looks at the
last hour's releases, so a drop is noticed before it is history.

A language's first batch is its backfill (everything upstream already had), not a release rate: it
is left out, and watching starts there.
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


def forecast(batches: Iterable[tuple[float, int]], now: float) -> list[float]:
    """Releases per hour for the 24 hours from ``now`` (``batches``: (trace epoch, count), any order)."""
    seen = sorted(batches)
    if not seen:
        return [0.0] * 24
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
    overall = sum(w_hour.values()) / watched if watched > 0 else 0.0
    out = []
    for ahead in range(24):
        when = dt.datetime.fromtimestamp(now + ahead * HOUR, dt.UTC)
        h, key = when.hour, (when.weekday(), when.hour)
        e = exp_hour.get(h, 0.0)
        rate = w_hour[h] / e if e >= 0.25 else overall
        ew = exp_week.get(key, 0.0)
        if ew >= 0.25 and sum(exp_week.values()) >= 7 * 24 * 0.5:  # a week watched: weekdays mean something
            rate = (w_week[key] + rate) / (ew + 1.0)
        if ahead == 0:
            rate = max(rate, recent)
        out.append(rate)
    return out


def _same(when: dt.datetime) -> dt.datetime:
    return when


def forecasts(batches: Sequence[Batch], languages: Sequence[str], now: dt.datetime,
              to_trace: Callable[[dt.datetime], dt.datetime] | None = None) -> Mapping[str, list[float]]:
    """Per language, ``forecast`` of its batches (``to_trace`` maps a stored instant to scheduler time)."""
    convert = to_trace if to_trace is not None else _same
    per: dict[str, list[tuple[float, int]]] = {lang: [] for lang in languages}
    for b in batches:
        if b.language in per:
            per[b.language].append((convert(b.first_seen).timestamp(), b.count))
    return {lang: forecast(items, now.timestamp()) for lang, items in per.items()}
