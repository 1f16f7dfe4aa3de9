"""``GET /api/new-releases`` (the listing) and ``GET /api/releases/{id}`` (one release, with ``raw``).

Both speak ``row_json``, the one release representation SSE uses too.  A body is rendered once
to bytes; its ETag is a hash of those bytes, so equal results give equal tags on every instance.
Both answers are marked for the edge cache, which also turns a matching If-None-Match into a 304.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import attrs
from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.http.context import context
from vibed.http.cursor import MAX_ID, encode_cursor
from vibed.http.errors import ApiError
from vibed.http.listing_params import parse_listing
from vibed.http.watched import private, resolve_filter, watch_param
from vibed.store.listing import get_release, list_releases
from vibed.store.releases import row_json
from vibed.vocab.edge_keys import EDGE_CACHE

blueprint = Blueprint("releases", __name__)
CACHE_CONTROL = "max-age=5"  # short: new releases arrive live, and SSE is the fresh path


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def json_bytes(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _json_response(body: bytes, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="application/json")


@blueprint.get("/api/new-releases")
async def list_new_releases() -> Response:
    ctx = context()
    secret = ctx.keys.cursor
    query = parse_listing(request.args, secret)
    watch = watch_param(request.args)
    if watch is not None:
        query = attrs.evolve(query, filter=await resolve_filter(ctx, watch))
    page = await list_releases(ctx.database, query)
    next_cursor = None if page.next_key is None else encode_cursor(page.next_key, secret)
    body = json_bytes({"data": [row_json(row) for row in page.rows], "next_cursor": next_cursor})
    response = _json_response(body)
    response.headers["ETag"] = etag_of(body)  # the edge answers If-None-Match with a 304 from it
    if watch is not None:  # an edit of the watch must show at once: not held by the edge (watched.py)
        return private(response)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers[EDGE_CACHE] = "1"
    return response


def _release_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ApiError(400, "invalid_parameter", "id: must be a positive whole number (a release's id)")
    return int(text)


@blueprint.get("/api/releases/<release_id>")
async def one_release(release_id: str) -> Response:
    ctx = context()
    rid = _release_id(release_id)
    row = None if not 1 <= rid <= MAX_ID else await get_release(ctx.database, rid)
    if row is None:
        raise ApiError(404, "not_found", f"no release with id {rid}")
    body = row_json(row)
    body["raw"] = row["raw"]
    encoded = json_bytes(body)
    response = _json_response(encoded)
    response.headers["ETag"] = etag_of(encoded)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers[EDGE_CACHE] = "1"
    return response
