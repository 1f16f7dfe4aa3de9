"""The listing's SQL: newest first, filtered, paged by keyset (never OFFSET).

The order is the ``releases_newest`` index order: release date (undated last, as 0001-01-01),
then first seen, then id, all descending.  A page continues strictly *after* the last row's
``SortKey`` with one row-value comparison, which PostgreSQL answers from the same index, so
page 4,000 costs what page 1 costs.  Every value is a bound parameter; ``q`` is a LIKE pattern
with its metacharacters escaped, so quotes, ``%`` and ``_`` are plain text.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

from vibed.store.artists import ARTIST_IDS
from vibed.store.postgres import Database
from vibed.store.release_json import LISTED_JSON
from vibed.vocab.release_filter import EVERYTHING, RELEASE_COLUMNS, ReleaseFilter, filter_sql

UNDATED = dt.date(1, 1, 1)  # where an undated release sorts: after every dated one
_DAY = "coalesce(release_date, '0001-01-01'::date)"
_COLUMNS = ("id, source, external_id, kind, title, artists, album, language, release_date, year, image, "
            f"url, explicit, first_seen, {_DAY} AS sort_day, {ARTIST_IDS}")
# the listing's own page: each release as its kept JSON (vibed/store/release_json.py), and its sort key
_JSON_COLUMNS = f"{_DAY} AS sort_day, first_seen, id, {LISTED_JSON} AS json"


@attrs.frozen
class SortKey:
    """Where a row sits in the listing order; a page resumes strictly after it."""

    day: dt.date
    first_seen: dt.datetime
    id: int

    @classmethod
    def of(cls, row: Mapping[str, Any]) -> SortKey:
        return cls(row["sort_day"], row["first_seen"], row["id"])


@attrs.frozen
class ListingQuery:
    filter: ReleaseFilter = EVERYTHING
    since: dt.date | None = None
    q: str | None = None
    limit: int = 25
    after: SortKey | None = None


@attrs.frozen
class ListingPage:
    rows: tuple[Mapping[str, Any], ...]
    next_key: SortKey | None  # None on the last page


@attrs.frozen
class JsonPage:
    items: tuple[bytes, ...]  # each release as json_bytes(row_json(row)) would write it
    next_key: SortKey | None  # None on the last page


def like_pattern(text: str) -> str:
    """``text`` as a substring pattern for LIKE/ILIKE (backslash is PostgreSQL's default escape)."""
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def listing_sql(query: ListingQuery, columns: str = _COLUMNS) -> tuple[str, list[object]]:
    where: list[str] = []
    args: list[object] = []

    def bind(value: object, cast: str) -> str:
        args.append(value)
        return f"${len(args)}::{cast}"

    where.extend(filter_sql(query.filter, RELEASE_COLUMNS, args))  # one language: `=`, the index's order
    if query.since is not None:
        since = bind(query.since, "date")
        # the second form is the index's own expression, so it bounds the index scan
        where.append(f"release_date >= {since} AND {_DAY} >= {since}")
    if query.q:
        pattern = bind(like_pattern(query.q), "text")
        where.append(f"(title ILIKE {pattern} OR artist_names ILIKE {pattern})")
    if query.after is not None:
        key = query.after
        # the day travels as text: asyncpg sends date.min (our UNDATED) as -infinity, not 0001-01-01
        where.append(f"({_DAY}, first_seen, id) < ({bind(key.day.isoformat(), 'text')}::date, "
                     f"{bind(key.first_seen, 'timestamptz')}, {bind(key.id, 'bigint')})")
    sql = (f"SELECT {columns} FROM releases"
           + (f" WHERE {' AND '.join(where)}" if where else "")
           + f" ORDER BY {_DAY} DESC, first_seen DESC, id DESC"
           + f" LIMIT {bind(query.limit + 1, 'int')}")  # one more row tells whether a next page exists
    return sql, args


async def list_releases(db: Database, query: ListingQuery) -> ListingPage:
    sql, args = listing_sql(query)
    rows = await db.read(sql, *args, batch=query.q is None)  # as below
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return ListingPage(tuple(rows), SortKey.of(rows[-1]) if more else None)


async def list_release_json(db: Database, query: ListingQuery) -> JsonPage:
    """``list_releases`` with each release as the JSON PostgreSQL keeps of it."""
    sql, args = listing_sql(query, _JSON_COLUMNS)
    # a search runs alone: batched, its pattern would be a value of the batch and no longer let
    # PostgreSQL plan it on the trigram index
    rows = await db.read(sql, *args, batch=query.q is None)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    return JsonPage(tuple(row["json"] for row in rows), SortKey.of(rows[-1]) if more else None)


async def get_release(db: Database, release_id: int) -> Mapping[str, Any] | None:
    """One release with its raw upstream item, or None."""
    rows = await db.read(f"SELECT {_COLUMNS}, raw FROM releases WHERE id = $1", release_id)
    return rows[0] if rows else None
