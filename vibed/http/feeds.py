"""``GET /feeds/new-releases.atom|.rss|.json|.ics``: the newest releases for feed readers and calendars.

The filters are the list API's (``language``, ``source``, ``kind``, ``artist`` or ``watch``, ``since``, ``q``,
``limit`` ≤ 100, default 100), checked by the same parser.  ``.ics`` is an iCalendar file
(``vibed.feeds.calendar``): one all-day event per release on its release date.  Answers carry ``ETag`` (a hash of the bytes)
and are marked for the edge cache, which answers conditional requests (vibed/edge/conditional.py);
nothing here looks at ``If-*`` headers.  There is no ``Last-Modified``: no stored time moves with
every change of the bytes (an edited title, a release leaving the window, two rounds within one
second), and a date that stays put would tell an ``If-Modified-Since`` reader 304 for new
content.  Links are absolute from ``VIBED_PUBLIC_URL``, never from the request's Host, because
a cached answer may only depend on the request target; ``rel="self"`` names the filter *and* the
``limit`` it was asked with.
"""

from __future__ import annotations

from urllib.parse import urlencode

import attrs
from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.feeds import calendar
from vibed.feeds.entries import entry_of
from vibed.feeds.render import FORMATS as DOCUMENTS
from vibed.feeds.render import FeedInfo
from vibed.http.context import AppContext, context
from vibed.http.listing_params import MAX_LIMIT, parse_listing
from vibed.http.releases import CACHE_CONTROL, etag_of
from vibed.http.watched import private, resolve_filter, watch_param
from vibed.store.listing import ListingQuery, list_releases
from vibed.vocab.edge_keys import EDGE_CACHE

blueprint = Blueprint("feeds", __name__)
PATH = "/feeds/new-releases"
FORMATS = {**DOCUMENTS, "ics": (calendar.ics, calendar.CONTENT_TYPE)}  # suffix -> (renderer, Content-Type)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def public_url(ctx: AppContext) -> str:
    configured = ctx.settings().public_url
    if configured:
        return configured
    return f"http://localhost:{ctx.http_port() or ctx.settings().port}"


def scope_of(query: ListingQuery) -> str:
    """The filter as a canonical query string: the same filter always names the same feed."""
    pairs = [*query.filter.query_pairs(), ("since", query.since.isoformat() if query.since else ""),
             ("q", query.q or "")]
    return urlencode([(k, v) for k, v in pairs if v])


def _title(query: ListingQuery) -> str:
    flt = query.filter
    parts = [",".join(sorted(flt.languages or ())), ",".join(sorted(flt.sources or ())),
             ",".join(f"{k}s" for k in sorted(flt.kinds or ())),
             f"{len(flt.artists)} artist{'s' if len(flt.artists) > 1 else ''}" if flt.artists else "",
             f"“{query.q}”" if query.q else ""]
    scope = " ".join(p for p in parts if p)
    return "vibed: new releases" + (f" ({scope})" if scope else "")


@blueprint.get(f"{PATH}.atom", defaults={"suffix": "atom"})
@blueprint.get(f"{PATH}.rss", defaults={"suffix": "rss"})
@blueprint.get(f"{PATH}.json", defaults={"suffix": "json"})
@blueprint.get(f"{PATH}.ics", defaults={"suffix": "ics"})
async def feed(suffix: str) -> Response:
    ctx = context()
    query = feed_query(ctx)
    watch = watch_param(request.args)
    if watch is not None:
        query = attrs.evolve(query, filter=await resolve_filter(ctx, watch))
    base = public_url(ctx)
    scope = scope_of(query) if watch is None else urlencode({"watch": watch})
    asked = "&".join(p for p in (scope, urlencode({"limit": query.limit}) if request.args.get("limit") else "") if p)
    info = FeedInfo(title=_title(query), self_url=f"{base}{PATH}.{suffix}" + (f"?{asked}" if asked else ""),
                    home_url=f"{base}/", scope=scope)
    response = await feed_response(ctx, query, suffix, info)
    if watch is not None:  # an edit of the watch must show at once: not held by the edge (watched.py)
        return private(response)
    response.headers["Cache-Control"] = CACHE_CONTROL
    response.headers[EDGE_CACHE] = "1"
    return response


def feed_query(ctx: AppContext) -> ListingQuery:
    """The listing's query of this request, as a feed reads it: no cursor, 100 entries unless asked."""
    query = parse_listing(request.args, ctx.keys.cursor)
    return attrs.evolve(query, after=None, limit=query.limit if request.args.get("limit") else MAX_LIMIT)


async def feed_response(ctx: AppContext, query: ListingQuery, suffix: str, info: FeedInfo) -> Response:
    """The feed's bytes in the ``suffix`` format, with their ETag (caching is the caller's)."""
    page = await list_releases(ctx.database, query)
    entries = [entry_of(row, public_url(ctx)) for row in page.rows]
    render, content_type = FORMATS[suffix]
    body = render(info, entries)
    response = Response(body, status=200, content_type=content_type)
    response.headers["ETag"] = etag_of(body)
    return response
