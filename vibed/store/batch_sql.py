"""Several reads of one statement as one statement: one round trip to PostgreSQL for a batch.

    batch = batch_of(sql)                       # None: this statement cannot be batched
    sql, args = batch.sql, batch.args([job.args for job in jobs])
    per_job = batch.split(rows, len(jobs))      # each job's rows, in its own statement's order

Under load every listing page that misses the cache is the same statement with other values (a
cursor, a limit).  Each one sent alone cost a round trip: a send, a wake-up of a backend, a
receive, on both sides.  Batched, the values travel as one array per parameter and the statement
runs once per set of values, beside the others::

    SELECT b.i, q.* FROM unnest($1::text[], $2::int[]) WITH ORDINALITY AS b(p1, p2, i)
      CROSS JOIN LATERAL (SELECT *, row_number() OVER () AS vibed_n FROM (<the statement, $k -> b.pk>) s) q
     ORDER BY b.i, q.vibed_n

A statement can be batched when every parameter is written ``$k::type`` with a scalar type (the
listing binds each value so, vibed/store/listing.py); arrays of arrays are not rectangular, so a
statement with an array parameter runs alone.  ``row_number`` keeps each statement's own order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import asyncpg
import attrs

_PARAM = re.compile(r"\$(\d+)(::(\w+)(\[\])?)?")
INDEX, ORDER = "vibed_i", "vibed_n"  # the batch's own columns in each row


@attrs.frozen
class Batch:
    sql: str
    count: int  # parameters of the statement

    def args(self, each: Sequence[Sequence[Any]]) -> list[list[Any]]:
        """One array per parameter, the jobs' values in job order."""
        return [[values[k] for values in each] for k in range(self.count)]

    def split(self, rows: Sequence[asyncpg.Record], jobs: int) -> list[list[asyncpg.Record]]:
        out: list[list[asyncpg.Record]] = [[] for _ in range(jobs)]
        for row in rows:
            out[row[INDEX] - 1].append(row)
        return out


def batch_of(sql: str) -> Batch | None:
    types: dict[int, str] = {}
    for match in _PARAM.finditer(sql):
        number, cast, array = int(match[1]), match[3], match[4]
        if cast is None or array or types.setdefault(number, cast) != cast:
            return None  # untyped, an array, or one parameter cast two ways
    if not types or sorted(types) != list(range(1, len(types) + 1)):
        return None
    inner = _PARAM.sub(lambda m: f"b.p{m[1]}{m[2]}", sql)
    arrays = ", ".join(f"${k}::{types[k]}[]" for k in sorted(types))
    names = ", ".join(f"p{k}" for k in sorted(types))
    return Batch(f"SELECT b.{INDEX}, q.* FROM unnest({arrays}) WITH ORDINALITY AS b({names}, {INDEX}) "
                 f"CROSS JOIN LATERAL (SELECT *, row_number() OVER () AS {ORDER} FROM ({inner}) s) q "
                 f"ORDER BY b.{INDEX}, q.{ORDER}", len(types))
