"""``GET /api/artists`` (search the artist index) and ``GET /api/artists/{id}`` (one artist, recent releases).

    GET /api/artists?q=rahman&limit=10   {"data": [{"id", "name", "sources": {source: external id},
                                         "languages", "releases"}]}, best trigram match of the
                                         normalised name first (no ``q``: the most released first)
    GET /api/artists/{id}                the same record plus ``recent_releases`` (newest first,
                                         the listing's representation; ``?limit=`` ≤ 100)

An artist's ``id`` is what ``artist=`` takes on every path (listing, feeds, streams, webhooks).
Bad input is the app's one 400 shape, with ``q`` and ``limit`` checked as on the listing.  Both are
read endpoints (vibed/http/reads.py): the edge serves them without the app.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from vibed.edge.respond import Answer
from vibed.http.answers import json_answer
from vibed.http.context import AppContext
from vibed.http.errors import ApiError
from vibed.http.listing_params import parse_limit, parse_q
from vibed.store import artists as index
from vibed.store.listing import ListingQuery, list_releases
from vibed.store.releases import row_json
from vibed.vocab.release_filter import MAX_ARTIST_ID, ReleaseFilter


async def search_artists(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    q, limit = parse_q(args) or "", parse_limit(args)
    rows = await index.search(ctx.database, q, limit) if q else await index.busiest(ctx.database, limit)
    return json_answer({"data": [index.artist_json(row) for row in rows]})


async def one_artist(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    artist_id = params["artist_id"]
    if not artist_id.isascii() or not artist_id.isdigit() or not 1 <= int(artist_id) <= MAX_ARTIST_ID:
        raise ApiError(400, "invalid_parameter", "id: must be a positive whole number (an artist's id)")
    row = await index.one(ctx.database, int(artist_id))
    if row is None:
        raise ApiError(404, "not_found", f"no artist with id {artist_id}")
    page = await list_releases(ctx.database, ListingQuery(filter=ReleaseFilter(artists=frozenset({row["id"]})),
                                                          limit=parse_limit(args)))
    return json_answer({**index.artist_json(row), "recent_releases": [row_json(r) for r in page.rows]})
