"""``GET /api/new-releases`` (the listing) and ``GET /api/releases/{id}`` (one release, with ``raw``).

Both speak ``row_json``, the one release representation SSE uses too.  Each is a read endpoint
(vibed/http/reads.py): a function of the context, the path's parameters and the query to an
``Answer``, which the edge serves without the app and the app serves through Quart alike.  Both
answers are marked for the edge cache, which also turns a matching If-None-Match into a 304 — but
for a ``watch=`` listing (vibed/http/watched.py), which an edit of the watch must change at once.
"""

from __future__ import annotations

from collections.abc import Mapping

from werkzeug.datastructures import MultiDict

from vibed.edge.respond import Answer
from vibed.http.answers import CACHE_CONTROL, cached_answer, etag_of, json_answer, json_bytes
from vibed.http.context import AppContext
from vibed.http.cursor import MAX_ID, encode_cursor
from vibed.http.errors import ApiError
from vibed.http.listing_params import parse_listing
from vibed.http.watched import private, watched_query
from vibed.store.listing import get_release, list_release_json
from vibed.store.releases import row_json

__all__ = ["CACHE_CONTROL", "etag_of", "json_bytes", "listing", "one_release"]


async def listing(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    secret = ctx.keys.cursor
    query, watch = await watched_query(ctx, parse_listing(args, secret), args)
    page = await list_release_json(ctx.database, query)
    next_cursor = None if page.next_key is None else encode_cursor(page.next_key, secret)
    # json_bytes({"data": [row_json(row) ...], "next_cursor": next_cursor}), from releases PostgreSQL wrote
    answer = cached_answer(b'{"data":[%s],"next_cursor":%s}' % (b",".join(page.items), json_bytes(next_cursor)))
    return answer if watch is None else private(answer)


def _release_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 19:
        raise ApiError(400, "invalid_parameter", "id: must be a positive whole number (a release's id)")
    return int(text)


async def one_release(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    rid = _release_id(params["release_id"])
    row = None if not 1 <= rid <= MAX_ID else await get_release(ctx.database, rid)
    if row is None:
        raise ApiError(404, "not_found", f"no release with id {rid}")
    body = row_json(row)
    body["raw"] = row["raw"]
    return json_answer(body)
