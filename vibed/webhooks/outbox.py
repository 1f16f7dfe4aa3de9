"""The webhook outbox: one row per (event, matching subscription), and its life until delivered or dead.

Its rows are made by ``vibed.store.outbox.enqueue`` inside the writer's transaction (asyncio side, on its
connection), so they commit or vanish with the events.  The delivery actor then works each target's *head of line*
— its oldest pending row — one at a time, so a target receives its deliveries in event order:

    claim_head    lease the head if it is due: attempts + 1, next_attempt_at = now + lease
    delivered     state 'delivered'; the target's failure count back to 0
    failed        due again after the back-off, or 'dead' when the schedule is spent; the
                  target is paused after ``pause_after`` failed attempts in a row
    requeue       dead (or named) rows pending again, and the target resumed (vibed/store/outbox_log.py)
    prune         delivered rows older than the retention go (dead ones stay until redelivered
                  or their subscription is deleted)

A daemon that dies while sending leaves the lease to run out: the row is sent again under the
same ``webhook-id`` (at least once; a receiver deduplicates on it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vibed.store import outbox, outbox_log
from vibed.store.outbox import WEBHOOKS
from vibed.store.postgres import Database
from vibed.vocab.messages import WebhookDelivery

# targets whose head of line is due now (a leased or backed-off head holds its whole line)
_DUE_TARGETS = """
SELECT h.webhook_id FROM (
    SELECT DISTINCT ON (o.webhook_id) o.webhook_id, o.next_attempt_at
      FROM webhook_outbox o JOIN webhooks w ON w.id = o.webhook_id AND w.paused_at IS NULL
     WHERE o.state = 'pending'
     ORDER BY o.webhook_id, o.id
) h WHERE h.next_attempt_at <= now()
"""

# FOR UPDATE without SKIP LOCKED: another instance claiming the same head makes us wait, then
# the re-checked next_attempt_at (now its lease) excludes it — never the row behind it
_CLAIM = f"""
WITH head AS (
    SELECT o.id FROM webhook_outbox o
     WHERE o.webhook_id = $1 AND o.state = 'pending'
     ORDER BY o.id LIMIT 1 FOR UPDATE
), claimed AS (
    UPDATE webhook_outbox o SET {WEBHOOKS.lease("$2")}
      FROM head WHERE o.id = head.id AND o.next_attempt_at <= now()
    RETURNING o.id, o.webhook_id, o.event_id, o.attempts
)
SELECT c.id, c.webhook_id, c.event_id, c.attempts, e.payload, e.created_at, w.url, w.secret, w.format
  FROM claimed c JOIN events e ON e.id = c.event_id JOIN webhooks w ON w.id = c.webhook_id
 WHERE w.paused_at IS NULL
"""

_DELIVERED = """
WITH d AS (
    UPDATE webhook_outbox SET state = 'delivered', delivered_at = now(), last_status = $2, last_error = NULL
     WHERE id = $1 RETURNING webhook_id
)
UPDATE webhooks w SET consecutive_failures = 0 FROM d WHERE w.id = d.webhook_id
"""

# $5 NULL = the schedule is spent: dead-letter it; $6 failures in a row pause the target ($7: why, else the count)
_FAILED = WEBHOOKS.failed_counted("id = $1", "$5", "$4", owner_id="$2", pause_after="$6", what="attempts",
                                  status="$3", reason="$7")

async def due_targets(db: Database) -> list[int]:
    return [row["webhook_id"] for row in await db.fetch(_DUE_TARGETS)]


async def claim_head(db: Database, webhook_id: int, lease_s: float) -> WebhookDelivery | None:
    row = await db.fetchrow(_CLAIM, webhook_id, lease_s)
    if row is None:
        return None
    return WebhookDelivery(id=row["id"], webhook_id=row["webhook_id"], event_id=row["event_id"],
                           attempt=row["attempts"], url=row["url"], secret=row["secret"], format=row["format"],
                           payload=row["payload"], created_at=row["created_at"])


async def delivered(db: Database, delivery_id: int, status: int) -> None:
    await db.execute(_DELIVERED, delivery_id, status)


async def failed(db: Database, delivery: WebhookDelivery, status: int | None, error: str,
                 retry_in: float | None, pause_after: int, *, pause_reason: str | None = None) -> bool:
    """Record a failed attempt; True when the target is (now) paused (``pause_reason`` says why, else
    the count of failures in a row)."""
    return bool(await db.fetchval(_FAILED, delivery.id, delivery.webhook_id, status, error[:300], retry_in,
                                  pause_after, pause_reason))


async def deliveries(db: Database, webhook_id: int, *, state: str | None = None, before: int | None = None,
                     limit: int = 50) -> list[Mapping[str, Any]]:
    return await outbox_log.deliveries(db, WEBHOOKS, webhook_id, extra=("last_status",), state=state,
                                       before=before, limit=limit)


async def requeue(db: Database, webhook_id: int, ids: Sequence[int] | None) -> tuple[int, bool]:
    """(rows pending again, whether the target exists); the target is resumed."""
    return await outbox_log.requeue(db, WEBHOOKS, webhook_id, ids)


async def prune(db: Database, keep_s: float, batch: int = 10_000) -> int:
    """Forget delivered rows older than ``keep_s`` seconds, at most ``batch`` of them; how many went."""
    return await outbox.prune(db, WEBHOOKS, keep_s, batch)
