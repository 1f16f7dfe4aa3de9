"""When a failed delivery is tried again: the schedule's wait for this attempt, jittered ±20%,
and never sooner than the target's ``Retry-After``; None when the schedule is spent (dead-letter)."""

from __future__ import annotations

import random
from collections.abc import Sequence

JITTER = 0.2
RETRY_AFTER_CAP = 86400.0  # a day: a target cannot park its deliveries for longer per attempt


def next_wait(schedule: Sequence[float], attempt: int, retry_after: float | None,
              rng: random.Random | None = None) -> float | None:
    """``attempt`` is the 1-based attempt that just failed."""
    if attempt > len(schedule):
        return None
    rng = rng or random.Random()
    wait = schedule[attempt - 1] * (1 + rng.uniform(-JITTER, JITTER))
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_CAP))
    return wait
