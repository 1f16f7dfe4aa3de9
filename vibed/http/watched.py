"""``watch=<id>`` on the listing and the feeds: the watch's filter in place of one spelt out.

    watch_param(args)          the watch id a query string names (checked), or None
    resolve_filter(ctx, id)    the watch's filter now; a 404 when it names no watch

The answer to a watch's read is marked ``private, no-cache`` and never held by the edge cache: the
cache is emptied by new events, not by an edit of the watch, and the URL is a capability.  A
conditional request still gets its 304 (the edge judges preconditions on every answer).
"""

from __future__ import annotations

from typing import Any

from quart import Response

from vibed.http.context import AppContext
from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.store import watches
from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter
from vibed.vocab.watch_ref import WATCH_KEY, UnknownWatch, watch_of

CACHE_CONTROL = "private, no-cache"


def watch_param(args: Any) -> str | None:
    try:
        return watch_of({key: args.getlist(key) for key in (*KEYS, WATCH_KEY) if key in args})
    except BadFilter as exc:
        raise filter_error(exc) from None


async def resolve_filter(ctx: AppContext, watch_id: str) -> ReleaseFilter:
    found = await watches.resolve(ctx.database, watch_id)
    if found is None:
        raise ApiError(404, "not_found", UnknownWatch(watch_id).detail)
    return found


def private(response: Response) -> Response:
    """A watch's answer: revalidated every time, kept by no shared cache (nor the edge's)."""
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
