"""The outbox core: the SQL the three outboxes (webhooks, Web Push, notification targets) share.

Each outbox is a table of one row per (event, owner) — the owner a webhook, a push subscription or a
notification target — and every row lives the same life:

    enqueue       made in the writer's transaction, so it commits or vanishes with its event
    leased        attempts + 1, next_attempt_at = now + lease: a leased row holds its owner's line,
                  and a daemon that dies mid-send leaves the lease to run out (sent again: at least once)
    delivered     state 'delivered', delivered_at now
    failed        due again after the back-off, or 'dead' when the schedule is spent (wait NULL); an
                  owner that pauses (webhooks, targets) counts its failures in a row and pauses at a limit
    prune         delivered rows older than the retention go; dead ones stay until requeued or their
                  owner goes

``Outbox`` names one kind's tables; the statements here are written once over it, and each kind's own
module (vibed/webhooks/outbox.py, vibed/push/outbox.py, vibed/targets/outbox.py) adds only what
differs: which rows are due and what a claim returns.  Placeholders are passed in (``"$3"``), since
each kind's statement numbers its parameters its own way.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg
import attrs

from vibed.store.postgres import Database
from vibed.store.watches import filters_on
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter


@attrs.frozen
class Outbox:
    """One kind's outbox table, the column naming its owner, and the owners' table (with the filter columns)."""

    table: str  # webhook_outbox
    owner: str  # webhook_id
    owners: str  # webhooks

    def lease(self, secs: str) -> str:
        """The SET list that leases rows aliased ``o`` for ``secs`` seconds."""
        return (f"attempts = o.attempts + 1, last_attempt_at = now(), "
                f"next_attempt_at = now() + make_interval(secs => {secs})")

    def failed(self, rows: str, wait: str, error: str, status: str | None = None) -> str:
        """The pending ``rows`` (a condition on ``id``) due again in ``wait`` seconds, or dead when
        ``wait`` is NULL; returning their owner."""
        last_status = "" if status is None else f"last_status = {status}, "
        return f"""
    UPDATE {self.table}
       SET state = CASE WHEN {wait}::float8 IS NULL THEN 'dead' ELSE 'pending' END,
           next_attempt_at = CASE WHEN {wait}::float8 IS NULL THEN next_attempt_at
                                  ELSE now() + make_interval(secs => {wait}::float8) END,
           {last_status}last_error = {error}
     WHERE {rows} AND state = 'pending' RETURNING {self.owner}"""

    def failed_counted(self, rows: str, wait: str, error: str, *, owner_id: str, pause_after: str,
                       what: str, status: str | None = None, reason: str = "NULL") -> str:
        """``failed``, and the owner's failures in a row + 1: paused when they reach ``pause_after``
        (``reason``, else the count and the last error); selects whether the owner is (now) paused."""
        return f"""
WITH d AS ({self.failed(rows, wait, error, status)}
), w AS (
    UPDATE {self.owners} w SET consecutive_failures = w.consecutive_failures + 1,
           paused_at = CASE WHEN w.paused_at IS NULL AND w.consecutive_failures + 1 >= {pause_after} THEN now()
                            ELSE w.paused_at END,
           paused_reason = CASE WHEN w.paused_at IS NULL AND w.consecutive_failures + 1 >= {pause_after}
                                THEN coalesce({reason}::text, format('%s failed {what} in a row; last: %s',
                                                                 w.consecutive_failures + 1, {error}))
                                ELSE w.paused_reason END
     WHERE w.id = {owner_id} AND EXISTS (SELECT 1 FROM d)
    RETURNING w.paused_at IS NOT NULL AS paused
)
SELECT coalesce((SELECT paused FROM w), false)
"""

    def counts(self, alias: str) -> str:
        """The select-list items ``pending`` and ``dead``: the rows of the owner aliased ``alias``."""
        return f"""
  (SELECT count(*) FROM {self.table} o WHERE o.{self.owner} = {alias}.id AND o.state = 'pending') AS pending,
  (SELECT count(*) FROM {self.table} o WHERE o.{self.owner} = {alias}.id AND o.state = 'dead') AS dead
"""

    def totals(self) -> str:
        """The select-list items ``pending`` and ``dead``: every owner's rows."""
        return (f"(SELECT count(*) FROM {self.table} WHERE state = 'pending') AS pending,\n"
                f"       (SELECT count(*) FROM {self.table} WHERE state = 'dead') AS dead")


WEBHOOKS = Outbox("webhook_outbox", "webhook_id", "webhooks")
PUSH = Outbox("push_outbox", "subscription_id", "push_subscriptions")
TARGETS = Outbox("notify_outbox", "target_id", "notify_targets")
KINDS = (WEBHOOKS, TARGETS, PUSH)  # the order the writer enqueues them in


async def prune(db: Database, box: Outbox, keep_s: float, batch: int = 10_000) -> int:
    """Forget delivered rows older than ``keep_s`` seconds, at most ``batch`` of them; how many went."""
    statement = f"""
DELETE FROM {box.table} WHERE id IN (
    SELECT id FROM {box.table}
     WHERE state = 'delivered' AND delivered_at < now() - make_interval(secs => $1::float8)
     LIMIT $2)
"""
    return int((await db.execute(statement, keep_s, batch)).split()[-1])


async def enqueue(conn: asyncpg.Connection, box: Outbox, events: Sequence[StoredEvent]) -> None:
    """asyncio side, inside the writer's transaction: one row per event and owner whose ``ReleaseFilter``
    matches it, in event order.  Which owners match is the one filter's matcher, not SQL written beside
    it; an owner that follows a watch matches by the watch's filter as it is now (pending names matched
    by this same transaction), and one whose watch went meanwhile matches nothing (it goes with it)."""
    if not events:
        return
    rows = await conn.fetch(f"SELECT id, languages, sources, kinds, artists, watch_id FROM {box.owners} ORDER BY id")
    watched = await filters_on(conn, sorted({row["watch_id"] for row in rows if row["watch_id"] is not None}))
    owners = [(row["id"], watched[row["watch_id"]] if row["watch_id"] is not None else
               ReleaseFilter.stored(row["languages"], row["sources"], row["kinds"], row["artists"]))
              for row in rows if row["watch_id"] is None or row["watch_id"] in watched]
    pairs = [(owner_id, event.id) for event in sorted(events, key=lambda e: e.id)
             for owner_id, flt in owners if flt.matches(event)]
    if pairs:
        await conn.execute(f"INSERT INTO {box.table} ({box.owner}, event_id) "
                           "SELECT o, e FROM unnest($1::bigint[], $2::bigint[]) AS v(o, e)",
                           [p[0] for p in pairs], [p[1] for p in pairs])
