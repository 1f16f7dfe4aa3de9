"""Where a backfill of one (source, scope) stands: the next page to walk, the oldest date reached."""

from __future__ import annotations

import datetime as dt

import attrs

from vibed.store.postgres import Database


@attrs.frozen
class BackfillState:
    next_page: int = 1
    oldest: dt.date | None = None
    exhausted: bool = False
    requests: int = 0


async def load(db: Database, source: str, scope: str) -> BackfillState:
    row = await db.fetchrow("SELECT next_page, oldest, exhausted, requests FROM backfill_state"
                            " WHERE source = $1 AND scope = $2", source, scope)
    return BackfillState() if row is None else BackfillState(**dict(row))


async def save(db: Database, source: str, scope: str, state: BackfillState) -> None:
    await db.execute(
        "INSERT INTO backfill_state (source, scope, next_page, oldest, exhausted, requests)"
        " VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (source, scope) DO UPDATE SET next_page = $3, oldest = $4, exhausted = $5,"
        " requests = $6, updated_at = now()",
        source, scope, state.next_page, state.oldest, state.exhausted, state.requests)


async def forget(db: Database, source: str, scope: str) -> None:
    await db.execute("DELETE FROM backfill_state WHERE source = $1 AND scope = $2", source, scope)
