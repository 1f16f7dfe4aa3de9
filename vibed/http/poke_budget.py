"""What pokes without a token may cost: a small burst, then one per ``EVERY`` seconds.

Each poke round spends upstream tokens (one per language and page), and under loopback authority
anyone on this machine may poke.  So ``POST /api/new-releases/fetch`` without a token takes one
poke from this budget first: ``BURST`` at once, refilled one per ``EVERY`` seconds, as often as
the default cron already polls.  Past it the answer is 429 with ``Retry-After``; a caller with a
token (``JWT_SECRET``) is an operator and is not counted.  At most ``BURST + 86400 / EVERY``
(147) poke rounds a day, per process.
"""

from __future__ import annotations

import math

import attrs
import trio

BURST = 3
EVERY = 600.0  # seconds: the default schedule's cadence (*/10)


@attrs.define(eq=False)
class PokeBudget:
    burst: int = BURST
    every: float = EVERY
    _level: float = float(BURST)
    _at: float | None = None  # trio time of the last refill

    def take_nowait(self) -> float | None:
        """Spend one poke: None when allowed, else the seconds until one is back."""
        now = trio.current_time()
        if self._at is not None:
            self._level = min(float(self.burst), self._level + (now - self._at) / self.every)
        self._at = now
        if self._level >= 1.0:
            self._level -= 1.0
            return None
        return (1.0 - self._level) * self.every


def retry_after(seconds: float) -> str:
    return str(max(1, math.ceil(seconds)))
