"""The operator's view of an outbox whose owners pause (webhooks, notification targets): its log, and requeue.

    deliveries    one owner's rows, newest first, by state and before an id (paging); the columns every
                  outbox has, plus the kind's own (``extra``: a webhook's ``last_status``, a target's
                  ``message_id``) — never the owner's URL, which can be a credential
    requeue       the named rows (any state but pending), else every dead one, pending again with their
                  attempts from 0; every pending row due now; and the owner resumed at once (not paused,
                  no failures in a row)

Both are written once over ``Outbox`` (vibed/store/outbox.py), as the rest of the outbox core is; the
caller has checked that the owner is the caller's (vibed/store/outbox_owners.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from vibed.store.outbox import Outbox
from vibed.store.postgres import Database

_COLUMNS = ("id", "event_id", "state", "attempts", "next_attempt_at", "last_attempt_at", "last_error",
            "delivered_at", "created_at")


def deliveries_sql(box: Outbox, extra: Sequence[str] = ()) -> str:
    columns = ", ".join(f"o.{c}" for c in (*_COLUMNS, *extra))
    return f"""
SELECT {columns}
  FROM {box.table} o
 WHERE o.{box.owner} = $1 AND ($2::text IS NULL OR o.state = $2) AND ($3::bigint IS NULL OR o.id < $3)
 ORDER BY o.id DESC LIMIT $4
"""


def requeue_sql(box: Outbox) -> str:
    return f"""
WITH again AS (
    UPDATE {box.table} SET state = 'pending', attempts = 0, next_attempt_at = now(), last_error = NULL
     WHERE {box.owner} = $1 AND state <> 'pending'
       AND (CASE WHEN $2::bigint[] IS NULL THEN state = 'dead' ELSE id = ANY ($2) END)
    RETURNING id
), waiting AS (
    UPDATE {box.table} SET next_attempt_at = now() WHERE {box.owner} = $1 AND state = 'pending' RETURNING id
), resumed AS (
    UPDATE {box.owners} SET paused_at = NULL, paused_reason = NULL, consecutive_failures = 0
     WHERE id = $1 RETURNING id
)
SELECT (SELECT count(*) FROM again) AS requeued, (SELECT count(*) FROM resumed) AS found
"""


async def deliveries(db: Database, box: Outbox, owner_id: int, *, extra: Sequence[str] = (),
                     state: str | None = None, before: int | None = None, limit: int = 50) -> list[Mapping[str, Any]]:
    """The owner's rows, newest first: ``state`` only, ids below ``before``, at most ``limit``."""
    return list(await db.fetch(deliveries_sql(box, extra), owner_id, state, before, limit))


async def requeue(db: Database, box: Outbox, owner_id: int, ids: Sequence[int] | None) -> tuple[int, bool]:
    """(rows pending again, whether the owner exists); the owner is resumed."""
    row = await db.fetchrow(requeue_sql(box), owner_id, None if ids is None else list(ids))
    assert row is not None
    return int(row["requeued"]), bool(row["found"])
