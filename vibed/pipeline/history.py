"""Release history for the planner: when each language's releases were first seen.

One row per (language, write batch): the writer stores a run's releases in one transaction, so
they share ``first_seen``.  The planner (``vibed/pipeline/learning.py``) turns these into rates by
hour of day and day of week; every daemon reads the same rows, so every daemon learns the same.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import attrs

from vibed.store.postgres import Database

_BATCHES = """
SELECT language, first_seen, count(*) AS n
  FROM releases
 WHERE source = $1 AND language = ANY($2::text[]) AND first_seen > $3
   -- a release seen around its release date; older catalogue read for the first time is backfill
   AND (release_date IS NULL OR release_date >= (first_seen AT TIME ZONE 'UTC')::date - 1)
 GROUP BY language, first_seen
 ORDER BY first_seen
"""


@attrs.frozen
class Batch:
    language: str
    first_seen: dt.datetime  # wall clock (the database's now() at the write)
    count: int


async def batches(db: Database, source: str, languages: Sequence[str], since: dt.datetime) -> list[Batch]:
    rows = await db.fetch(_BATCHES, source, list(languages), since)
    return [Batch(r["language"], r["first_seen"], int(r["n"])) for r in rows]
