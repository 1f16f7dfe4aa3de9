"""Per-client request limit, in-process: GCRA (a token bucket kept as one timestamp per client).

``limit`` requests per ``period`` seconds, with a burst of ``limit``: each request pushes the
client's theoretical arrival time (TAT) one emission interval (period / limit) further; a
request that would push it more than ``period`` ahead of now is refused.  One float per client,
no timers.  A client whose TAT is in the past is at full quota, exactly as if absent, so idle
clients are evicted for free; a hard cap bounds memory against floods of distinct addresses.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import attrs

MAX_CLIENTS = 50_000  # ~5 MB; beyond it the least recently seen client is forgotten
SWEEP_EVERY = 1024  # inserts between sweeps of idle clients


@attrs.frozen
class Decision:
    """One request's verdict, and the figures for the RateLimit-* headers."""

    allowed: bool
    limit: int
    remaining: int
    reset_s: int  # seconds until the client is back at full quota
    retry_after_s: int  # when refused: seconds until one request is allowed again (else 0)


def gcra(tat: float, now: float, limit: int, period: float) -> tuple[Decision, float]:
    """The verdict for one request at ``now`` and the client's new TAT (unchanged when refused)."""
    interval = period / limit
    tat = max(tat, now)
    new_tat = tat + interval
    if new_tat - now > period + 1e-9:
        wait = new_tat - period - now
        return Decision(False, limit, 0, math.ceil(tat - now), max(1, math.ceil(wait))), tat
    remaining = int((period - (new_tat - now)) / interval + 1e-9)
    return Decision(True, limit, remaining, math.ceil(new_tat - now), 0), new_tat


@attrs.define(eq=False)
class LocalLimiter:
    limit: int
    period: float = 60.0
    clock: Callable[[], float] = time.monotonic
    max_clients: int = MAX_CLIENTS
    _tat: dict[str, float] = attrs.field(factory=dict)
    _inserts: int = 0

    def hit(self, client: str) -> Decision:
        now = self.clock()
        previous = self._tat.pop(client, None)  # re-inserted below: dict order is recency order
        if previous is None:
            self._inserts += 1
            if self._inserts % SWEEP_EVERY == 0:
                self._sweep(now)
        decision, tat = gcra(previous or now, now, self.limit, self.period)
        self._tat[client] = tat
        while len(self._tat) > self.max_clients:
            # evicting an active client resets its quota: acceptable only under an address flood
            del self._tat[next(iter(self._tat))]
        return decision

    def _sweep(self, now: float) -> None:
        idle = [client for client, tat in self._tat.items() if tat <= now]
        for client in idle:
            del self._tat[client]

    def __len__(self) -> int:
        return len(self._tat)
