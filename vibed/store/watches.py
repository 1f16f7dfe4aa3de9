"""Watches (schema 0015): a saved ``ReleaseFilter`` that needs no account, and who follows whom.

A watch's id is a capability (128 random bits): whoever has it reads the watch's releases
(``watch=<id>`` on every path).  Its token (256 random bits, only its sha256 is stored) is needed to
read, change or delete the watch itself.

    create / get / update / delete    the watch, as a ``Watch`` record (``token_matches`` checks a token)
    resolve(db, id)                   the watch's ``ReleaseFilter`` now, or None: what every path and the
                                      notification targets call (``filters_on`` is the asyncio side, for
                                      the writer's transaction)
    followed_artists(db, limit)       [(artist_id, followers)], most-followed first: what per-artist
                                      polling reads

A watch's artist part is its artists plus the artists its pending names name (the ``watch_follows``
view); it is "no restriction" only when the watch follows nothing at all, so a watch whose every name
is still pending matches nothing yet, rather than everything.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import attrs

from vibed.store.postgres import Database
from vibed.vocab.release_filter import MAX_ARTISTS, BadFilter, ReleaseFilter

MAX_FOLLOWS = MAX_ARTISTS  # artists and pending names of one watch together: the filter's own limit

_FILTER = """
SELECT w.id, w.languages, w.sources, w.kinds,
       CASE WHEN EXISTS (SELECT 1 FROM watch_artists wa WHERE wa.watch_id = w.id)
              OR EXISTS (SELECT 1 FROM watch_pending wp WHERE wp.watch_id = w.id)
            THEN ARRAY(SELECT f.artist_id FROM watch_follows f WHERE f.watch_id = w.id ORDER BY 1) END AS artists
"""
_ONE = _FILTER + """,
       w.name, w.token_hash, w.created_at, w.updated_at,
       (SELECT coalesce(jsonb_agg(jsonb_build_array(a.id, a.name) ORDER BY a.id), '[]')
          FROM watch_follows f JOIN artists a ON a.id = f.artist_id WHERE f.watch_id = w.id) AS followed,
       (SELECT coalesce(array_agg(wp.name ORDER BY wp.name), '{}') FROM watch_pending wp
         WHERE wp.watch_id = w.id AND NOT EXISTS (SELECT 1 FROM artists a WHERE a.key = wp.key)) AS pending
  FROM watches w WHERE w.id = $1
"""
_FILTERS = _FILTER + " FROM watches w WHERE w.id = ANY($1::text[])"
_INSERT = "INSERT INTO watches (id, token_hash, name, languages, sources, kinds) VALUES ($1, $2, $3, $4, $5, $6)"
_UNKNOWN = "SELECT coalesce(array_agg(i ORDER BY i), '{}') FROM unnest($1::bigint[]) i WHERE i NOT IN (SELECT id FROM artists)"
_SET_ARTISTS = "INSERT INTO watch_artists (watch_id, artist_id) SELECT $1, unnest($2::bigint[]) ON CONFLICT DO NOTHING"
_NAMELESS = "SELECT coalesce(array_agg(n), '{}') FROM unnest($1::text[]) n WHERE vibed_artist_key(n) = ''"
_NAMES_KNOWN = """
INSERT INTO watch_artists (watch_id, artist_id)
SELECT $1, a.id FROM unnest($2::text[]) n JOIN artists a ON a.key = vibed_artist_key(n) ON CONFLICT DO NOTHING
"""
_NAMES_PENDING = """
INSERT INTO watch_pending (watch_id, key, name)
SELECT $1, s.k, s.n FROM (SELECT n, vibed_artist_key(n) AS k FROM unnest($2::text[]) n) s
 WHERE NOT EXISTS (SELECT 1 FROM artists a WHERE a.key = s.k) ON CONFLICT DO NOTHING
"""
_COUNT = ("SELECT (SELECT count(*) FROM watch_artists WHERE watch_id = $1) "
          "+ (SELECT count(*) FROM watch_pending WHERE watch_id = $1)")
_FULL = "SELECT count(*) >= $1 FROM (SELECT 1 FROM watches LIMIT $1) w"  # bounded: never a scan of more
_FOLLOWED = """
SELECT artist_id, count(*) AS followers FROM watch_follows
 GROUP BY artist_id ORDER BY followers DESC, artist_id LIMIT $1
"""


class BadFollow(BadFilter):
    """A watch's artists or names that cannot be kept; ``error``/``detail`` form the 400 body."""


@attrs.frozen
class Watch:
    id: str
    name: str
    filter: ReleaseFilter
    artists: tuple[tuple[int, str], ...]  # (id, name) of every artist it follows, by id
    pending: tuple[str, ...]  # names that match no artist yet, as given
    token_hash: bytes = attrs.field(repr=False)
    created_at: dt.datetime
    updated_at: dt.datetime


@attrs.frozen
class WatchChange:
    """What a create or a PATCH sets; None = keep (for a create: nothing)."""

    name: str | None = None
    languages: Sequence[str] | None = None  # the three closed parts: each given → replaced ([] = any)
    sources: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    parts: frozenset[str] = frozenset()  # which of languages/sources/kinds were given
    artists: Sequence[int] | None = None  # replaces the followed ids
    artist_names: Sequence[str] | None = None  # replaces the pending names (known ones become artists)


def new_id() -> str:
    return secrets.token_urlsafe(16)  # 22 characters, 128 bits: a capability, never guessed


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def token_matches(watch: Watch, token: str) -> bool:
    """In constant time: the comparison takes as long whichever byte differs."""
    return hmac.compare_digest(watch.token_hash, token_digest(token))


def _filter_of(row: Mapping[str, Any]) -> ReleaseFilter:
    return ReleaseFilter.stored(row["languages"] or None, row["sources"] or None, row["kinds"] or None,
                                row["artists"])


def _watch(row: Mapping[str, Any]) -> Watch:
    return Watch(id=row["id"], name=row["name"], filter=_filter_of(row),
                 artists=tuple((int(i), str(n)) for i, n in row["followed"]), pending=tuple(row["pending"]),
                 token_hash=bytes(row["token_hash"]), created_at=row["created_at"], updated_at=row["updated_at"])


async def _follow(conn: asyncpg.Connection, watch_id: str, change: WatchChange) -> None:
    if change.artists is not None:
        unknown = await conn.fetchval(_UNKNOWN, list(change.artists))
        if unknown:
            raise BadFollow("unknown_artist", f"artists: no artist with id {', '.join(map(str, unknown[:5]))} "
                            "(ids come from /api/artists; give a name in artist_names to wait for one)")
        await conn.execute("DELETE FROM watch_artists WHERE watch_id = $1", watch_id)
        await conn.execute(_SET_ARTISTS, watch_id, list(change.artists))
    if change.artist_names is not None:
        nameless = await conn.fetchval(_NAMELESS, list(change.artist_names))
        if nameless:
            raise BadFollow("bad_artist_name", f"artist_names: {nameless[0][:40]!r} has no letters or digits")
        await conn.execute("DELETE FROM watch_pending WHERE watch_id = $1", watch_id)
        await conn.execute(_NAMES_KNOWN, watch_id, list(change.artist_names))
        await conn.execute(_NAMES_PENDING, watch_id, list(change.artist_names))
    if await conn.fetchval(_COUNT, watch_id) > MAX_FOLLOWS:
        raise BadFollow("too_many_artists", f"a watch follows at most {MAX_FOLLOWS} artists and names together")


def _closed(values: Sequence[str] | None) -> list[str] | None:
    return sorted(values) if values else None


class TooManyWatches(RuntimeError):
    """The table holds the most watches the deployment allows (``VIBED_MAX_WATCHES``)."""


async def _create(pool: asyncpg.Pool, watch_id: str, digest: bytes, change: WatchChange,
                  most: int) -> Mapping[str, Any]:
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval(_FULL, most):
            raise TooManyWatches(f"{most} watches exist, the most VIBED_MAX_WATCHES allows")
        await conn.execute(_INSERT, watch_id, digest, change.name or "", _closed(change.languages),
                           _closed(change.sources), _closed(change.kinds))
        await _follow(conn, watch_id, change)
        row: Mapping[str, Any] = await conn.fetchrow(_ONE, watch_id)
        return row


async def create(db: Database, change: WatchChange, *, most: int = 100_000) -> tuple[Watch, str]:
    """A new watch and its token (the only time the token is seen: only its hash is kept);
    ``TooManyWatches`` when ``most`` exist already."""
    token = new_token()
    return _watch(await db.run(_create, db.pool, new_id(), token_digest(token), change, most)), token


async def get(db: Database, watch_id: str) -> Watch | None:
    row = await db.fetchrow(_ONE, watch_id)
    return None if row is None else _watch(row)


async def _update(pool: asyncpg.Pool, watch_id: str, change: WatchChange) -> Mapping[str, Any] | None:
    sets, args = ["updated_at = now()"], list[object]([watch_id])
    if change.name is not None:
        args.append(change.name)
        sets.append(f"name = ${len(args)}")
    for part in ("languages", "sources", "kinds"):  # column names from this fixed list, never from input
        if part in change.parts:
            args.append(_closed(getattr(change, part)))
            sets.append(f"{part} = ${len(args)}::text[]")
    async with pool.acquire() as conn, conn.transaction():
        found = await conn.fetchval(f"UPDATE watches SET {', '.join(sets)} WHERE id = $1 RETURNING id", *args)
        if found is None:
            return None
        await _follow(conn, watch_id, change)
        row: Mapping[str, Any] = await conn.fetchrow(_ONE, watch_id)
        return row


async def update(db: Database, watch_id: str, change: WatchChange) -> Watch | None:
    row = await db.run(_update, db.pool, watch_id, change)
    return None if row is None else _watch(row)


async def delete(db: Database, watch_id: str) -> bool:
    return await db.fetchval("DELETE FROM watches WHERE id = $1 RETURNING id", watch_id) is not None


async def resolve(db: Database, watch_id: str) -> ReleaseFilter | None:
    """The filter watch ``watch_id`` stands for now, or None when there is no such watch."""
    rows = await db.fetch(_FILTERS, [watch_id])
    return _filter_of(rows[0]) if rows else None


async def resolve_all(db: Database, watch_ids: Sequence[str]) -> dict[str, ReleaseFilter]:
    """One query: the filters of those of ``watch_ids`` that exist now, by id (a deleted one is absent)."""
    if not watch_ids:
        return {}
    return {row["id"]: _filter_of(row) for row in await db.fetch(_FILTERS, list(watch_ids))}


async def filters_on(conn: asyncpg.Connection, watch_ids: Sequence[str]) -> dict[str, ReleaseFilter]:
    """asyncio side (e.g. inside the writer's transaction): the filters of these watches by id."""
    if not watch_ids:
        return {}
    return {row["id"]: _filter_of(row) for row in await conn.fetch(_FILTERS, list(watch_ids))}


async def followed_artists(db: Database, limit: int = 1000) -> list[tuple[int, int]]:
    """[(artist_id, followers)]: every artist some watch follows, the most-followed first (ties by id)."""
    return [(row["artist_id"], row["followers"]) for row in await db.fetch(_FOLLOWED, limit)]
