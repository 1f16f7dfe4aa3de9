"""``watch=<id>`` on the listing and the feeds: the watch's filter in place of one spelt out.

    watch_param(args)                the watch id a query string names (checked), or None
    watched_query(ctx, query, args)  the query with that watch's filter (a 404 when it names no
                                     watch), and the id
    private(answer)                  the answer as a watch's read leaves

The answer to a watch's read is ``private, no-cache`` and never held by the edge cache: the cache is
emptied by new events, not by an edit of the watch, and the URL is a capability.  A conditional
request still gets its 304 (the edge judges preconditions on every answer).
"""

from __future__ import annotations

import attrs
from werkzeug.datastructures import MultiDict

from vibed.edge.respond import Answer
from vibed.http.context import AppContext
from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.store import watches
from vibed.store.listing import ListingQuery
from vibed.vocab.edge_keys import EDGE_CACHE
from vibed.vocab.release_filter import KEYS, BadFilter
from vibed.vocab.watch_ref import WATCH_KEY, UnknownWatch, watch_of

CACHE_CONTROL = b"private, no-cache"
_DROPPED = (b"cache-control", EDGE_CACHE.encode())


def watch_param(args: MultiDict[str, str]) -> str | None:
    try:
        return watch_of({key: args.getlist(key) for key in (*KEYS, WATCH_KEY) if key in args})
    except BadFilter as exc:
        raise filter_error(exc) from None


async def watched_query(ctx: AppContext, query: ListingQuery,
                        args: MultiDict[str, str]) -> tuple[ListingQuery, str | None]:
    watch = watch_param(args)
    if watch is None:
        return query, None
    found = await watches.resolve(ctx.database, watch)
    if found is None:
        raise ApiError(404, "not_found", UnknownWatch(watch).detail)
    return attrs.evolve(query, filter=found), watch


def private(answer: Answer) -> Answer:
    """A watch's answer: revalidated every time, kept by no shared cache (nor the edge's)."""
    headers = tuple(h for h in answer.headers if h[0] not in _DROPPED)
    return Answer(answer.status, (*headers, (b"cache-control", CACHE_CONTROL)), answer.body)
