"""asyncio side, inside the writer's transaction: one push_outbox row per event and matching subscription.

The push outbox's other statements are vibed/push/outbox.py; this one lives here because it runs
on the writer's connection, in the transaction that stores the events (``vibed.store.releases``),
so a delivery commits or vanishes with its event.  Which subscriptions match is the one filter's
matcher (``ReleaseFilter.matches``); a subscription made from a watch follows the watch's filter as it is
now (``vibed.store.watches.filters_on``, in the same transaction).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vibed.store.watches import filters_on
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

_SUBSCRIPTIONS = "SELECT id, languages, sources, kinds, artists, watch_id FROM push_subscriptions ORDER BY id"
NOTHING = ReleaseFilter(artists=frozenset())  # a watch deleted under a running write: matches no event
_ENQUEUE = """
INSERT INTO push_outbox (subscription_id, event_id)
SELECT s, e FROM unnest($1::bigint[], $2::bigint[]) AS v(s, e)
"""


async def enqueue_pushes(conn: asyncpg.Connection, events: Sequence[StoredEvent]) -> None:
    """The push deliveries of these events, in event order."""
    if not events:
        return
    rows = await conn.fetch(_SUBSCRIPTIONS)
    watched = await filters_on(conn, sorted({row["watch_id"] for row in rows if row["watch_id"] is not None}))
    subs = [(row["id"], watched.get(row["watch_id"], NOTHING) if row["watch_id"] is not None else
             ReleaseFilter.stored(row["languages"], row["sources"], row["kinds"], row["artists"])) for row in rows]
    pairs = [(sub_id, event.id) for event in sorted(events, key=lambda e: e.id)
             for sub_id, flt in subs if flt.matches(event)]
    if pairs:
        await conn.execute(_ENQUEUE, [p[0] for p in pairs], [p[1] for p in pairs])
