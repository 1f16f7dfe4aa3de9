"""The notify outbox: one row per (event, matching target), and its life until delivered or dead.

Its rows are made by ``vibed.store.outbox.enqueue`` inside the writer's transaction, so they commit or
vanish with the events.  Unlike a webhook, a message here carries every due row of its target at once
(one release, a folded burst, a digest, or what quiet hours held):

    due_targets   targets with pending rows, none of them leased or backed off (such a row holds the
                  whole line), with their schedule, flood window, oldest row and the database's now()
    claim         lease the target's pending rows created before the cutoff (all of them at once)
    delivered     the rows 'delivered' under one message id; the flood window counts the message
    failed        the rows due again after the back-off, or 'dead' when the schedule is spent; the
                  target is paused after ``pause_after`` failed messages in a row
    prune         delivered rows older than the retention go (dead ones stay until requeued or their
                  target goes)
    deliveries    the target's rows, newest first, for its owner (never the URL)
    requeue       dead (or named) rows pending again, and the target resumed (vibed/store/outbox_log.py)

A daemon that dies mid-send leaves its lease to run out, and the message is sent again (at least
once); a daemon that dies while releases wait for a digest or the end of quiet hours loses nothing:
the rows and their created_at are the digest's whole state.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from vibed.store import outbox, outbox_log
from vibed.store.outbox import TARGETS
from vibed.store.postgres import Database

MAX_ROWS = 1000  # releases in one message at most; the rest go in the next

_DUE_TARGETS = """
SELECT t.id, t.digest, t.quiet_start, t.quiet_end, t.tz, t.window_start, t.window_sends,
       min(o.created_at) AS oldest, now() AS now
  FROM notify_outbox o JOIN notify_targets t ON t.id = o.target_id AND t.paused_at IS NULL
 WHERE o.state = 'pending'
 GROUP BY t.id
HAVING max(o.next_attempt_at) <= now()
"""

# FOR UPDATE: another instance claiming the same rows makes us wait, then the re-checked
# next_attempt_at (now its lease) leaves them out
_CLAIM = f"""
WITH line AS (
    SELECT o.id FROM notify_outbox o
     WHERE o.target_id = $1 AND o.state = 'pending' AND o.next_attempt_at <= now()
       AND ($2::timestamptz IS NULL OR o.created_at < $2)
     ORDER BY o.id LIMIT $4 FOR UPDATE
), claimed AS (
    UPDATE notify_outbox o SET {TARGETS.lease("$3")}
      FROM line WHERE o.id = line.id
    RETURNING o.id, o.event_id, o.attempts
)
SELECT c.id, c.attempts, e.payload, t.url, t.shown_url
  FROM claimed c JOIN events e ON e.id = c.event_id JOIN notify_targets t ON t.id = $1
 WHERE t.paused_at IS NULL
 ORDER BY c.id
"""

_DELIVERED = """
WITH d AS (
    UPDATE notify_outbox SET state = 'delivered', delivered_at = now(), message_id = $2, last_error = NULL
     WHERE id = ANY ($1::bigint[]) AND state = 'pending' RETURNING target_id
)
UPDATE notify_targets t SET consecutive_failures = 0,
       window_sends = CASE WHEN t.window_start IS NULL OR now() >= t.window_start + make_interval(secs => $4)
                           THEN 1 ELSE t.window_sends + 1 END,
       window_start = CASE WHEN t.window_start IS NULL OR now() >= t.window_start + make_interval(secs => $4)
                           THEN now() ELSE t.window_start END
 WHERE t.id = $3 AND EXISTS (SELECT 1 FROM d)
"""

# $3 NULL = the schedule is spent: dead-letter them; $5 failed messages in a row pause the target
_FAILED = TARGETS.failed_counted("id = ANY ($1::bigint[])", "$3", "$4", owner_id="$2", pause_after="$5",
                                 what="messages")


@attrs.frozen
class DueTarget:
    """A target with pending rows that nothing holds, as the schedule needs it."""

    id: int
    digest: str
    quiet: tuple[int, int] | None
    tz: str
    window_start: dt.datetime | None
    window_sends: int
    oldest: dt.datetime
    now: dt.datetime  # the database's clock, which made every created_at


@attrs.frozen
class Claimed:
    """The rows of one message, leased: ids, the releases in event order, and where they go."""

    target_id: int
    ids: tuple[int, ...]
    attempt: int  # the highest attempt among them (1 for a first send)
    payloads: tuple[Mapping[str, Any], ...] = attrs.field(eq=False)
    url: str = attrs.field(repr=False)  # with its credentials: never logged
    shown_url: str

    @property
    def message_id(self) -> int:
        return self.ids[0]


async def due_targets(db: Database) -> list[DueTarget]:
    return [DueTarget(r["id"], r["digest"], None if r["quiet_start"] is None else (r["quiet_start"], r["quiet_end"]),
                      r["tz"], r["window_start"], r["window_sends"], r["oldest"], r["now"])
            for r in await db.fetch(_DUE_TARGETS)]


async def claim(db: Database, target_id: int, cutoff: dt.datetime | None, lease_s: float) -> Claimed | None:
    rows = await db.fetch(_CLAIM, target_id, cutoff, lease_s, MAX_ROWS)
    if not rows:
        return None
    return Claimed(target_id, tuple(r["id"] for r in rows), max(r["attempts"] for r in rows),
                   tuple(r["payload"] for r in rows), rows[0]["url"], rows[0]["shown_url"])


async def delivered(db: Database, claimed: Claimed, flood_window_s: float) -> None:
    await db.execute(_DELIVERED, list(claimed.ids), claimed.message_id, claimed.target_id, flood_window_s)


async def failed(db: Database, claimed: Claimed, error: str, retry_in: float | None, pause_after: int) -> bool:
    """Record a failed message; True when the target is (now) paused."""
    return bool(await db.fetchval(_FAILED, list(claimed.ids), claimed.target_id, retry_in, error[:300],
                                  pause_after))


async def prune(db: Database, keep_s: float, batch: int = 10_000) -> int:
    return await outbox.prune(db, TARGETS, keep_s, batch)


async def deliveries(db: Database, target_id: int, *, state: str | None = None, before: int | None = None,
                     limit: int = 50) -> list[Mapping[str, Any]]:
    return await outbox_log.deliveries(db, TARGETS, target_id, extra=("message_id",), state=state,
                                       before=before, limit=limit)


async def requeue(db: Database, target_id: int, ids: Sequence[int] | None) -> tuple[int, bool]:
    """(rows pending again, whether the target exists); the target is resumed."""
    return await outbox_log.requeue(db, TARGETS, target_id, ids)
