"""When a failed delivery is tried again: the schedule's wait for this attempt, jittered ±20%,
and never sooner than the target's ``Retry-After``; None when the schedule is spent (dead-letter).

One schedule policy for every outbox: webhooks and Web Push (``VIBED_WEBHOOK_RETRY_SCHEDULE``) and
notification targets (``VIBED_NOTIFY_RETRY_SCHEDULE``, whose Apprise sends have no ``Retry-After``)."""

from __future__ import annotations

import random
from collections.abc import Sequence

from vibed.vocab.backoff import RETRY_AFTER_CAP, jittered

JITTER = 0.2


def next_wait(schedule: Sequence[float], attempt: int, retry_after: float | None,
              rng: random.Random | None = None) -> float | None:
    """``attempt`` is the 1-based attempt that just failed."""
    if attempt > len(schedule):
        return None
    wait = jittered(schedule[attempt - 1], 1 - JITTER, 1 + JITTER, rng or random.Random())
    if retry_after is not None:
        wait = max(wait, min(retry_after, RETRY_AFTER_CAP))
    return wait
