"""The notify outbox's rows, made in the writer's transaction (asyncio side, on its connection).

One ``notify_outbox`` row per new event and notification target whose ``ReleaseFilter`` matches it,
so the rows commit or vanish with the events (the rest of that outbox is vibed/targets/outbox.py).
Which targets match is the one filter's matcher (``ReleaseFilter.matches``), not SQL written beside it.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vibed.store.watches import filters_on
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

_TARGETS = "SELECT id, languages, sources, kinds, artists, watch_id FROM notify_targets ORDER BY id"
NOTHING = ReleaseFilter(artists=frozenset())  # a watch gone meanwhile (its targets go with it)
_ENQUEUE = """
INSERT INTO notify_outbox (target_id, event_id)
SELECT t, e FROM unnest($1::bigint[], $2::bigint[]) AS v(t, e)
"""


async def enqueue_targets(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    """Inside the writer's transaction: the target rows of these events, in event order."""
    if not events:
        return
    rows = await conn.fetch(_TARGETS)
    # a target that follows a watch matches by the watch's filter as it is now
    watched = await filters_on(conn, sorted({row["watch_id"] for row in rows if row["watch_id"] is not None}))
    targets = [(row["id"], watched.get(row["watch_id"], NOTHING) if row["watch_id"] is not None else
                ReleaseFilter.stored(row["languages"], row["sources"], row["kinds"], row["artists"]))
               for row in rows]
    pairs = [(target_id, event.id) for event in sorted(events, key=lambda e: e.id)
             for target_id, flt in targets if flt.matches(event)]
    if pairs:
        await conn.execute(_ENQUEUE, [p[0] for p in pairs], [p[1] for p in pairs])
