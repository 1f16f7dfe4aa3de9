"""Where a release is stored: the writer's one-transaction dedup upsert, and its representation.

``write_batch`` takes the releases of several pages and, in one transaction:
1. upserts them all with one ``INSERT … SELECT FROM unnest(…) ON CONFLICT DO UPDATE`` statement
   (``xmax = 0`` tells a first-seen row from an update), and indexes their artists
   (``vibed.store.artists``);
2. inserts one ``events`` row per first-seen release that is new enough (released within the
   window, or undated), oldest first so the newest release gets the highest event id, and the outbox
   rows of those events (``vibed.store.outbox.enqueue``: webhooks, notification targets, Web Push);
3. commits, and returns the stored events with their ids.

``known`` tells a fetcher which releases of a page the database already has, so it can stop
paging without writing page by page (see ``vibed.pipeline.fetcher``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import asyncpg
import attrs

from vibed.store import outbox
from vibed.store.artists import index_releases
from vibed.store.postgres import Database
from vibed.store.release_json import write_release_json
from vibed.vocab.clock import utc_iso
from vibed.vocab.messages import Release, ReleaseKey, StoredEvent

_UPSERT = """
INSERT INTO releases AS r (source, external_id, kind, title, artists, artist_names, album, language,
                           release_date, year, image, url, play_count, explicit, raw)
SELECT s, e, k, t, a::jsonb, an, al, l, d, y, i, u, p, x, w::jsonb
  FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
              $8::text[], $9::date[], $10::int[], $11::text[], $12::text[], $13::bigint[],
              $14::boolean[], $15::text[]) AS v(s, e, k, t, a, an, al, l, d, y, i, u, p, x, w)
ON CONFLICT (source, external_id) DO UPDATE SET
    title = EXCLUDED.title, artists = EXCLUDED.artists, artist_names = EXCLUDED.artist_names,
    album = EXCLUDED.album, release_date = coalesce(EXCLUDED.release_date, r.release_date),
    year = coalesce(EXCLUDED.year, r.year), image = coalesce(EXCLUDED.image, r.image),
    url = coalesce(EXCLUDED.url, r.url), play_count = EXCLUDED.play_count,
    explicit = EXCLUDED.explicit, raw = EXCLUDED.raw, last_seen = now()
RETURNING r.id, r.source, r.external_id, (r.xmax = 0) AS inserted, r.first_seen
"""

_EVENTS = """
INSERT INTO events (kind, release_id, payload)
SELECT 'new_release', r, p::jsonb FROM unnest($1::bigint[], $2::text[]) AS v(r, p)
RETURNING id, release_id, created_at
"""


_KNOWN = """
SELECT r.source, r.external_id
  FROM releases r JOIN unnest($1::text[], $2::text[]) AS k(s, e) ON r.source = k.s AND r.external_id = k.e
"""


async def known(db: Database, keys: Sequence[ReleaseKey]) -> set[ReleaseKey]:
    """The (source, external_id) keys among ``keys`` that are already stored."""
    if not keys:
        return set()
    rows = await db.fetch(_KNOWN, [k[0] for k in keys], [k[1] for k in keys])
    return {(row["source"], row["external_id"]) for row in rows}


@attrs.frozen
class BatchResult:
    first_seen: Mapping[ReleaseKey, bool]  # first seen now?
    events: tuple[StoredEvent, ...]


def release_json(release_id: int, release: Release, first_seen: dt.datetime | None,
                 artist_ids: Sequence[int] = ()) -> dict[str, Any]:
    """The one public representation of a release (list API, SSE and WebSocket all use it).

    ``artist_ids`` (the artist index's, in credit order) sits beside the ``artists`` names: a
    client that knows only the names reads what it always read."""
    return {
        "id": release_id,
        "source": release.source,
        "external_id": release.external_id,
        "kind": release.kind,
        "title": release.title,
        "artists": [a.name for a in release.artists],
        "artist_ids": list(artist_ids),
        "album": release.album,
        "language": release.language,
        "release_date": release.release_date.isoformat() if release.release_date else None,
        "year": release.year,
        "image": release.image,
        "url": release.url,
        "explicit": release.explicit,
        "first_seen": utc_iso(first_seen),
    }


def row_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """``release_json`` for a ``releases`` row read back from the database."""
    artists = row["artists"] or []
    return {
        "id": row["id"],
        "source": row["source"],
        "external_id": row["external_id"],
        "kind": row["kind"],
        "title": row["title"],
        "artists": [a.get("name", "") for a in artists],
        "artist_ids": list(row["artist_ids"] or []),
        "album": row["album"],
        "language": row["language"],
        "release_date": row["release_date"].isoformat() if row["release_date"] else None,
        "year": row["year"],
        "image": row["image"],
        "url": row["url"],
        "explicit": row["explicit"],
        "first_seen": utc_iso(row["first_seen"]),
    }


def _columns(releases: Sequence[Release]) -> list[list[Any]]:
    cols: list[list[Any]] = [[] for _ in range(15)]
    for r in releases:
        values = (
            r.source, r.external_id, r.kind, r.title,
            json.dumps([{"id": a.id, "name": a.name} for a in r.artists], ensure_ascii=False),
            ", ".join(a.name for a in r.artists), r.album, r.language, r.release_date, r.year,
            r.image, r.url, r.play_count, r.explicit, json.dumps(dict(r.raw), ensure_ascii=False),
        )
        for col, value in zip(cols, values, strict=True):
            col.append(value)
    return cols


def is_new(release: Release, today: dt.date, window_days: int) -> bool:
    """First-seen releases announce themselves only when recent, or undated.

    A release dated only to a month or a year (Spotify's ``release_date_precision``) is first
    seen now; it is new only when its period includes today — "2026-03" is not new in April.
    """
    if release.release_date is not None:
        return release.release_date >= today - dt.timedelta(days=window_days)
    if release.period is not None:
        return today.isoformat().startswith(release.period)
    return True


def dedup(releases: Sequence[Release]) -> list[Release]:
    """One row per (source, external_id); a later page's copy wins (same statement can't touch a row twice)."""
    seen: dict[ReleaseKey, Release] = {}
    for r in releases:
        seen[(r.source, r.external_id)] = r
    return list(seen.values())


async def write_batch(pool: asyncpg.Pool, releases: Sequence[Release], window_days: int, *,
                      announce: bool = True) -> BatchResult:
    """asyncio side of the writer: one transaction for the whole batch.  ``announce=False`` (a
    backfill) stores the releases without an event: history, not news."""
    unique = dedup(releases)
    if not unique:
        return BatchResult({}, ())
    by_key = {(r.source, r.external_id): r for r in unique}
    async with pool.acquire() as conn, conn.transaction():
        # serialises writers of different instances on the event id sequence, so ids commit in order
        await conn.execute("SELECT pg_advisory_xact_lock(7669626564)")
        rows = await conn.fetch(_UPSERT, *_columns(unique))
        artist_ids = await index_releases(conn, [row["id"] for row in rows])  # the artist index, same commit
        await write_release_json(conn, [row["id"] for row in rows])  # what the listing reads, same commit
        today = await conn.fetchval("SELECT current_date")
        first_seen = {(row["source"], row["external_id"]): row["inserted"] for row in rows}
        fresh = [row for row in rows if announce and row["inserted"] and is_new(by_key[(row["source"], row["external_id"])],
                                                                  today, window_days)]
        # oldest first: the newest release gets the highest id and so arrives last, on top
        position = {key: i for i, key in enumerate(by_key)}

        def age(row: asyncpg.Record) -> tuple[dt.date, int]:
            key = (row["source"], row["external_id"])
            return (by_key[key].release_date or dt.date.max, -position[key])

        fresh.sort(key=age)
        payloads = [release_json(row["id"], by_key[(row["source"], row["external_id"])], row["first_seen"],
                                 artist_ids.get(row["id"], ())) for row in fresh]
        events: list[StoredEvent] = []
        if fresh:
            stored = await conn.fetch(_EVENTS, [row["id"] for row in fresh],
                                      [json.dumps(p, ensure_ascii=False) for p in payloads])
            payload_of = {p["id"]: p for p in payloads}
            for rec in sorted(stored, key=lambda rec: rec["id"]):
                payload = payload_of[rec["release_id"]]
                events.append(StoredEvent(
                    id=rec["id"], kind="new_release", release_id=rec["release_id"],
                    source=payload["source"], language=payload["language"],
                    release_kind=payload["kind"], payload=payload, created_at=rec["created_at"],
                ))
            # the webhook deliveries and notification-target rows of these events commit (or vanish) with them
            for box in outbox.KINDS:  # webhooks, notification targets, Web Push (vibed/store/outbox.py)
                await outbox.enqueue(conn, box, events)
    return BatchResult(first_seen, tuple(events))
