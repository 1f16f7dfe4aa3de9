"""``GET /api/artists`` (search the artist index) and ``GET /api/artists/{id}`` (one artist, recent releases).

    GET /api/artists?q=rahman&limit=10   {"data": [{"id", "name", "sources": {source: external id},
                                         "languages", "releases"}]}, best trigram match of the
                                         normalised name first (no ``q``: the most released first)
    GET /api/artists/{id}                the same record plus ``recent_releases`` (newest first,
                                         the listing's representation; ``?limit=`` ≤ 100)

An artist's ``id`` is what ``artist=`` takes on every path (listing, feeds, streams, webhooks).
Bad input is the app's one 400 shape, with ``q`` and ``limit`` checked as on the listing.
"""

from __future__ import annotations

from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.http.context import context
from vibed.http.errors import ApiError
from vibed.http.listing_params import parse_limit, parse_q
from vibed.http.releases import CACHE_CONTROL, etag_of, json_bytes
from vibed.store import artists as index
from vibed.store.listing import ListingQuery, list_releases
from vibed.store.releases import row_json
from vibed.vocab.edge_keys import EDGE_CACHE
from vibed.vocab.release_filter import MAX_ARTIST_ID, ReleaseFilter

blueprint = Blueprint("artists", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def _cached(body: object) -> Response:
    encoded = json_bytes(body)
    response = Response(encoded, status=200, mimetype="application/json")
    response.headers["ETag"] = etag_of(encoded)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers[EDGE_CACHE] = "1"
    return response


@blueprint.get("/api/artists")
async def search_artists() -> Response:
    ctx = context()
    q, limit = parse_q(request.args) or "", parse_limit(request.args)
    rows = await index.search(ctx.database, q, limit) if q else await index.busiest(ctx.database, limit)
    return _cached({"data": [index.artist_json(row) for row in rows]})


@blueprint.get("/api/artists/<artist_id>")
async def one_artist(artist_id: str) -> Response:
    ctx = context()
    if not artist_id.isascii() or not artist_id.isdigit() or not 1 <= int(artist_id) <= MAX_ARTIST_ID:
        raise ApiError(400, "invalid_parameter", "id: must be a positive whole number (an artist's id)")
    row = await index.one(ctx.database, int(artist_id))
    if row is None:
        raise ApiError(404, "not_found", f"no artist with id {artist_id}")
    page = await list_releases(ctx.database, ListingQuery(filter=ReleaseFilter(artists=frozenset({row["id"]})),
                                                          limit=parse_limit(request.args)))
    return _cached({**index.artist_json(row), "recent_releases": [row_json(r) for r in page.rows]})
