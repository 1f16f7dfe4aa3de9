"""What a reconnecting client is owed: the events after its Last-Event-ID, or an explicit reset.

Called *after* the client is registered with the hub (paused), so every event is either in the
replay or arrives live; the caller then drops live ids at or below ``floor``.  Because writers
commit in id order, an event committed after the replay query has an id above ``floor``.
"""

from __future__ import annotations

import attrs

from vibed.delivery.filters import StreamFilter
from vibed.store import events as store_events
from vibed.store.postgres import Database
from vibed.vocab.messages import StoredEvent


@attrs.frozen
class Replay:
    events: tuple[StoredEvent, ...]
    floor: int  # live frames with an id at or below this were replayed (or reset past)
    reset: str | None = None  # why replay cannot cover the gap; the client resumes at ``floor``


async def plan_replay(db: Database, stream_filter: StreamFilter, last_id: int | None, cap: int) -> Replay:
    if last_id is None:
        return Replay((), 0)  # live only
    newest = await db.run(store_events.max_event_id, db.pool)
    if last_id > newest:
        return Replay((), newest, f"event id {last_id} is in the future: the newest event is {newest}")
    if last_id and not await db.run(store_events.event_exists, db.pool, last_id):
        return Replay((), newest, f"event id {last_id} is unknown")
    events = await db.run(store_events.matching_after, db.pool, last_id, stream_filter.languages,
                          stream_filter.sources, stream_filter.kinds, cap + 1)
    if len(events) > cap:
        return Replay((), newest, f"more than {cap} events since {last_id}: replay does not reach back that far")
    return Replay(events, events[-1].id if events else last_id)
