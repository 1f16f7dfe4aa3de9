"""Reading the ``events`` table back: replay for reconnecting clients, gap fill and polling for the bus.

asyncio side (functions taking the asyncpg pool, run with ``Database.run``) plus the one
conversion from a row to ``StoredEvent``.  Filters are applied in SQL so a replay never pulls
more rows than it delivers.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import asyncpg

from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import EVENT_COLUMNS, ReleaseFilter, filter_sql

_COLUMNS = "id, kind, release_id, payload, created_at"

_RANGE = f"SELECT {_COLUMNS} FROM events WHERE id > $1 AND id <= $2 ORDER BY id LIMIT $3"
_AFTER = f"SELECT {_COLUMNS} FROM events WHERE id > $1 ORDER BY id LIMIT $2"


def event_from_row(row: Mapping[str, Any]) -> StoredEvent:
    payload = row["payload"]
    return StoredEvent(
        id=row["id"], kind=row["kind"], release_id=row["release_id"],
        source=payload.get("source", ""), language=payload.get("language"),
        release_kind=payload.get("kind", ""), payload=payload, created_at=row["created_at"],
    )


async def max_event_id(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT coalesce(max(id), 0) FROM events"))


async def event_exists(pool: asyncpg.Pool, event_id: int) -> bool:
    return bool(await pool.fetchval("SELECT EXISTS (SELECT 1 FROM events WHERE id = $1)", event_id))


async def matching_after(pool: asyncpg.Pool, after_id: int, release_filter: ReleaseFilter,
                         limit: int) -> tuple[StoredEvent, ...]:
    """Events with id > ``after_id`` that pass the filter (``filter_sql`` over the payload), oldest first."""
    args: list[object] = [after_id]
    where = ["id > $1", *filter_sql(release_filter, EVENT_COLUMNS, args)]
    args.append(limit)
    sql = f"SELECT {_COLUMNS} FROM events WHERE {' AND '.join(where)} ORDER BY id LIMIT ${len(args)}"
    rows = await pool.fetch(sql, *args)
    return tuple(event_from_row(r) for r in rows)


async def newest_events(pool: asyncpg.Pool, limit: int) -> tuple[StoredEvent, ...]:
    """The ``limit`` newest events, oldest first (the replay ring at start)."""
    rows = await pool.fetch(f"SELECT {_COLUMNS} FROM events ORDER BY id DESC LIMIT $1", limit)
    return tuple(event_from_row(r) for r in reversed(rows))


async def events_between(pool: asyncpg.Pool, after_id: int, upto_id: int,
                         limit: int = 10_000) -> tuple[StoredEvent, ...]:
    """All events with ``after_id`` < id ≤ ``upto_id``, in id order (the bus's gap fill)."""
    return tuple(event_from_row(r) for r in await pool.fetch(_RANGE, after_id, upto_id, limit))


async def events_after(pool: asyncpg.Pool, after_id: int, limit: int = 1000) -> tuple[StoredEvent, ...]:
    """All events with id > ``after_id``, in id order (the bus's poll while Redis is down)."""
    return tuple(event_from_row(r) for r in await pool.fetch(_AFTER, after_id, limit))


