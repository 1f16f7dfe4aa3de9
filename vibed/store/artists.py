"""The artist index (schema 0013): kept by the writer's transaction, searched by ``/api/artists``.

Normalising names and merging one person across sources is the schema's SQL (``vibed_artist_key``,
``vibed_index_artists``), the same functions the migration's backfill ran over the old rows, so the
index of a release written today and of one stored a year ago cannot disagree.

    index_releases     asyncio side, in the writer's transaction: index these releases, and say
                       which artist ids each now has (the events' ``artist_ids``)
    search             artists by name, best trigram match first
    one, releases_of   one artist, and its releases newest first
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg

from vibed.store.postgres import Database

# the ids of a release's artists in credit order; "artist_ids" beside every release's "artists" names
ARTIST_IDS_OF = ("(SELECT coalesce(array_agg(ra.artist_id ORDER BY ra.position), '{}') FROM release_artists ra "
                 "WHERE ra.release_id = releases.id)")
ARTIST_IDS = f"{ARTIST_IDS_OF} AS artist_ids"
_IDS_OF = """
SELECT release_id, array_agg(artist_id ORDER BY position) AS ids
  FROM release_artists WHERE release_id = ANY ($1::bigint[]) GROUP BY release_id
"""
_SUMMARY = """
SELECT a.id, a.name,
       (SELECT coalesce(jsonb_object_agg(s.source, s.external_id), '{}') FROM
          (SELECT DISTINCT ON (source) source, external_id FROM artist_ids WHERE artist_id = a.id
            ORDER BY source, external_id) s) AS sources,
       (SELECT coalesce(array_agg(DISTINCT r.language ORDER BY r.language)
                        FILTER (WHERE r.language IS NOT NULL), '{}')
          FROM release_artists ra JOIN releases r ON r.id = ra.release_id WHERE ra.artist_id = a.id) AS languages,
       (SELECT count(*) FROM release_artists ra WHERE ra.artist_id = a.id) AS releases
"""
# best match first: trigram similarity of the normalised names, then a prefix, then the most releases;
# without pg_trgm (a server that does not ship it, see 0003_listing.sql) a substring match ranked by prefix
_MATCH = "FROM artists a, (SELECT vibed_artist_key($1) AS key) k WHERE {where} ORDER BY {order} LIMIT $2"
_SEARCH = f"""{_SUMMARY}, similarity(a.key, k.key) AS score
""" + _MATCH.format(where="a.key % k.key OR strpos(a.key, k.key) > 0",
                    order="score DESC, (a.key LIKE k.key || '%') DESC, releases DESC, a.id")
_SEARCH_PLAIN = _SUMMARY + _MATCH.format(where="strpos(a.key, k.key) > 0",
                                         order="(a.key LIKE k.key || '%') DESC, releases DESC, a.id")
_ONE = f"{_SUMMARY} FROM artists a WHERE a.id = $1"
_BUSIEST = f"{_SUMMARY} FROM artists a ORDER BY releases DESC, a.id LIMIT $1"


async def index_releases(conn: asyncpg.Connection, release_ids: Sequence[int]) -> dict[int, list[int]]:
    """asyncio side, inside the writer's transaction: index these releases; their artist ids by release id."""
    if not release_ids:
        return {}
    await conn.execute("SELECT vibed_index_artists($1::bigint[])", list(release_ids))
    return {row["release_id"]: list(row["ids"]) for row in await conn.fetch(_IDS_OF, list(release_ids))}


def artist_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "sources": dict(row["sources"]),
            "languages": list(row["languages"]), "releases": row["releases"]}


async def search(db: Database, q: str, limit: int) -> list[Mapping[str, Any]]:
    """Artists whose normalised name is like ``q``'s, best first (trigram similarity when pg_trgm is in)."""
    [(trigrams,)] = await db.read("SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm')")
    return list(await db.read(_SEARCH if trigrams else _SEARCH_PLAIN, q, limit))


async def busiest(db: Database, limit: int) -> list[Mapping[str, Any]]:
    """Without a query: the artists with the most releases first."""
    return list(await db.read(_BUSIEST, limit))


async def one(db: Database, artist_id: int) -> Mapping[str, Any] | None:
    rows = await db.read(_ONE, artist_id)
    return rows[0] if rows else None
