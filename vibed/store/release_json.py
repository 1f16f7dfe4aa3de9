"""A release's public JSON as PostgreSQL keeps it: the bytes ``json_bytes(row_json(row))`` would be.

    SELECT ..., LISTED_JSON AS json FROM releases ...      -- bytea, UTF-8: ready to join into a body
    await write_release_json(conn, release_ids)            -- the writer, in its transaction

A listing page read as rows cost its decoding (seventeen columns, the artists' jsonb) and a dict
per row to encode again; written by PostgreSQL on every read, it cost a backend ~190 us of CPU per
page.  So each release keeps its JSON in ``releases.listed_json`` (schema 0020): the writer writes
it once, after the artist index, in the transaction that stores the release; triggers forget it
(NULL) when a release's columns or credits change any other way, and the listing then writes that
row afresh with the same function, ``vibed_release_json``.  ``row_json`` (vibed/store/releases.py)
stays the definition: the function writes the same fields in the same order, strings escaped as
``to_json`` escapes them (as orjson does), and tests/test_release_json.py holds the two equal over
hostile rows (quotes, backslashes, control characters, scripts, emoji, missing values).
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from vibed.store.artists import ARTIST_IDS_OF

# the kept JSON, or (forgotten since) the same JSON written now
LISTED_JSON = f"coalesce(releases.listed_json, vibed_release_json(releases, {ARTIST_IDS_OF}))"


async def write_release_json(conn: asyncpg.Connection, release_ids: Sequence[int]) -> None:
    """asyncio side, in the writer's transaction after the artist index: keep these releases' JSON."""
    if release_ids:
        await conn.execute("SELECT vibed_write_release_json($1::bigint[])", list(release_ids))
