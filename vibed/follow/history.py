"""When each followed artist's releases outside the watched languages were first seen: their learned rate.

A followed artist's release in a watched language is found by that language's polls; only the others
need the artist's own page.  So an artist's rate counts those, per write batch, as the languages'
history does (``vibed/pipeline/history.py``), over the time its page has been polled: an artist who
has released only in watched languages has a rate near zero.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from vibed.store.postgres import Database
from vibed.vocab.messages import artist_scope

_OUTSIDE = """
SELECT i.external_id AS upstream, r.first_seen, count(*) AS n
  FROM artist_ids i
  JOIN release_artists ra ON ra.artist_id = i.artist_id
  JOIN releases r ON r.id = ra.release_id
 WHERE i.source = 'jiosaavn' AND i.external_id = ANY ($1::text[]) AND r.first_seen > $3
   AND (r.language IS NULL OR NOT r.language = ANY ($2::text[]))
   -- released around when it was seen: older catalogue read for the first time is backfill
   AND (r.release_date IS NULL OR r.release_date >= (r.first_seen AT TIME ZONE 'UTC')::date - 1)
 GROUP BY 1, 2
 ORDER BY 2
"""
# since when each artist's page has been polled (schema 0016): the exposure its rate is divided by
_WATCHED = "SELECT scope, first_poll FROM fetch_state WHERE source = 'jiosaavn' AND scope = ANY ($1::text[])"


async def outside_batches(db: Database, upstream_ids: Sequence[str], languages: Sequence[str],
                          since: dt.datetime) -> dict[str, list[tuple[dt.datetime, int]]]:
    """Per JioSaavn artist id polled before: [(watched since, 0), (first_seen, releases outside ``languages``), …].

    The leading batch of 0 is the watch's start (``learning.forecast`` takes a first batch as backfill,
    not as releases); an artist never polled has no entry, and the planner's prior stands for it.
    """
    scopes = {artist_scope(u): u for u in upstream_ids}
    per: dict[str, list[tuple[dt.datetime, int]]] = {}
    for row in await db.fetch(_WATCHED, list(scopes)):
        if row["first_poll"] is not None:
            per[scopes[row["scope"]]] = [(max(row["first_poll"], since), 0)]
    for row in await db.fetch(_OUTSIDE, list(upstream_ids), list(languages), since):
        batches = per.get(row["upstream"])
        if batches is not None and row["first_seen"] >= batches[0][0]:
            batches.append((row["first_seen"], int(row["n"])))
    return per
