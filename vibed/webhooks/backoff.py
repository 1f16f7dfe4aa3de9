"""The webhooks' name for the outboxes' one retry schedule policy (vibed/outbox/backoff.py)."""

from __future__ import annotations

from vibed.outbox.backoff import JITTER, next_wait

__all__ = ["JITTER", "next_wait"]
