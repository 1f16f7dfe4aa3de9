"""Back-off, one way for every retry loop of vibed: a capped exponential delay, a jitter, Retry-After.

    Backoff(base, cap).delay(n, rng)   the n-th consecutive failure's wait: min(cap, base·2ⁿ⁻¹), "equal
                                        jitter" (× 0.5…1: never less than half) — fetchers, the supervisor
    jittered(delay, low, high, rng)    ``delay`` × a uniform factor in [low, high] — database and Redis
                                        reconnects (0.5…1.5), webhook attempts (0.8…1.2)
    parse_retry_after(header)          an upstream's or a target's ``Retry-After`` as seconds, capped
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
import random

import attrs

RETRY_AFTER_CAP = 86400.0  # seconds: nobody upstream parks a source or a target for longer than a day


def jittered(delay: float, low: float, high: float, rng: random.Random | None = None) -> float:
    """``delay`` scaled by a factor drawn uniformly from [low, high]."""
    return delay * (rng.uniform(low, high) if rng is not None else random.uniform(low, high))


@attrs.frozen
class Backoff:
    """Capped exponential back-off with equal jitter."""

    base: float
    cap: float

    def delay(self, failures: int, rng: random.Random | None = None) -> float:
        """The wait after ``failures`` consecutive failures (1 = the first)."""
        raw = min(self.cap, self.base * 2.0 ** min(max(0, failures - 1), 32))  # 2**32: no float overflow
        return jittered(raw, 0.5, 1.0, rng)


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """``Retry-After`` as seconds from now, finite and at most ``RETRY_AFTER_CAP``: delta-seconds
    or an HTTP date; None when absent or garbled (``nan``, words)."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return None if math.isnan(seconds) else min(RETRY_AFTER_CAP, max(0.0, seconds))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; a naive result means the zone was omitted
        when = when.replace(tzinfo=dt.UTC)
    now = now or dt.datetime.now(dt.UTC)
    return min(RETRY_AFTER_CAP, max(0.0, (when - now).total_seconds()))
