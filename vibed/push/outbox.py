"""The push outbox: one row per (event, matching subscription), and its life until delivered or dead.

Its rows are made inside the writer's transaction (``vibed.store.outbox.enqueue``), so they commit or
vanish with the events — the webhook outbox's contract (vibed/webhooks/outbox.py), kept for a
different shape of load: one release fans out to thousands of subscriptions with one row each.
So the sender claims the *heads of line* of many subscriptions in one statement, instead of
running one worker per target:

    claim_heads   lease up to n due heads, at most one per subscription: attempts + 1,
                  next_attempt_at = now + lease (a leased head holds its subscription's line)
    delivered     many rows 'delivered' in one statement
    failed        due again after the back-off, or 'dead' when the schedule is spent
    prune         delivered rows older than the retention go

A daemon that dies while sending leaves the lease to run out: the row is sent again (at least
once; the message's ``Topic`` makes the push service replace a copy it still holds).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from vibed.store import outbox
from vibed.store.outbox import PUSH
from vibed.store.postgres import Database

# a head: a due pending row with no earlier pending row of its subscription (a leased head holds
# the rows behind it).  Found in id order through push_outbox_pending_by_id, so a claim reads the
# rows in flight and the ones it takes, not every pending row.  FOR UPDATE without SKIP LOCKED, as
# for webhooks: another instance claiming the same head makes us wait, then the re-checked state and
# next_attempt_at (now its lease) exclude it — never the row behind it, which is not a head in this
# statement's snapshot
_CLAIM = f"""
WITH due AS (
    SELECT o.id FROM push_outbox o
     WHERE o.state = 'pending' AND o.next_attempt_at <= now()
       AND NOT EXISTS (SELECT 1 FROM push_outbox p
                        WHERE p.subscription_id = o.subscription_id AND p.state = 'pending' AND p.id < o.id)
     ORDER BY o.id LIMIT $1 FOR UPDATE OF o
), claimed AS (
    UPDATE push_outbox o SET {PUSH.lease("$2")}
      FROM due WHERE o.id = due.id AND o.state = 'pending' AND o.next_attempt_at <= now()
    RETURNING o.id, o.subscription_id, o.event_id, o.attempts
)
SELECT c.id, c.subscription_id, c.event_id, c.attempts, e.release_id, e.payload, e.created_at,
       s.endpoint, s.p256dh, s.auth
  FROM claimed c JOIN events e ON e.id = c.event_id JOIN push_subscriptions s ON s.id = c.subscription_id
 ORDER BY c.id
"""

_DELIVERED = """
UPDATE push_outbox SET state = 'delivered', delivered_at = now(), last_status = v.status, last_error = NULL
  FROM unnest($1::bigint[], $2::int[]) AS v(id, status)
 WHERE push_outbox.id = v.id AND push_outbox.state = 'pending'
"""

# $4 NULL = the schedule is spent: dead-letter it
_FAILED = PUSH.failed("id = $1", "$4", "$3", status="$2")


@attrs.frozen
class PushDelivery:
    """One outbox row claimed for an attempt: what to send and to which browser."""

    id: int  # push_outbox.id
    subscription_id: int
    event_id: int
    attempt: int  # 1 for the first attempt
    release_id: int | None
    endpoint: str = attrs.field(repr=False)  # a bearer of that browser's notifications: never logged
    p256dh: bytes = attrs.field(repr=False)
    auth: bytes = attrs.field(repr=False)
    payload: Mapping[str, Any] = attrs.field(eq=False, hash=False, repr=False)  # the event's release_json
    created_at: dt.datetime | None = None


async def claim_heads(db: Database, limit: int, lease_s: float) -> list[PushDelivery]:
    """Up to ``limit`` due heads of line, one per subscription, oldest first."""
    rows = await db.fetch(_CLAIM, limit, lease_s)
    return [PushDelivery(id=r["id"], subscription_id=r["subscription_id"], event_id=r["event_id"],
                         attempt=r["attempts"], release_id=r["release_id"], endpoint=r["endpoint"],
                         p256dh=bytes(r["p256dh"]), auth=bytes(r["auth"]), payload=r["payload"],
                         created_at=r["created_at"]) for r in rows]


async def delivered(db: Database, outcomes: Sequence[tuple[int, int]]) -> None:
    """(delivery id, status) pairs, recorded in one statement."""
    if outcomes:
        await db.execute(_DELIVERED, [o[0] for o in outcomes], [o[1] for o in outcomes])


async def failed(db: Database, delivery_id: int, status: int | None, error: str, retry_in: float | None) -> None:
    await db.execute(_FAILED, delivery_id, status, error[:300], retry_in)


async def prune(db: Database, keep_s: float, batch: int = 10_000) -> int:
    return await outbox.prune(db, PUSH, keep_s, batch)
