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

from collections.abc import Mapping
from urllib.parse import urlencode

import attrs
from werkzeug.datastructures import MultiDict

from vibed.edge.respond import Answer
from vibed.feeds import calendar
from vibed.feeds.entries import entry_of
from vibed.feeds.render import FORMATS as DOCUMENTS
from vibed.feeds.render import FeedInfo
from vibed.http.answers import cached_answer
from vibed.http.context import AppContext
from vibed.http.listing_params import MAX_LIMIT, parse_listing
from vibed.http.watched import private, watched_query
from vibed.store.listing import ListingQuery, list_releases

PATH = "/feeds/new-releases"
FORMATS = {**DOCUMENTS, "ics": (calendar.ics, calendar.CONTENT_TYPE)}  # suffix -> (renderer, Content-Type)


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


async def feed(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    suffix = params["suffix"]
    query, watch = await watched_query(ctx, feed_query(ctx, args), args)
    base = public_url(ctx)
    scope = scope_of(query) if watch is None else urlencode({"watch": watch})
    asked = "&".join(p for p in (scope, urlencode({"limit": query.limit}) if args.get("limit") else "") if p)
    info = FeedInfo(title=_title(query), self_url=f"{base}{PATH}.{suffix}" + (f"?{asked}" if asked else ""),
                    home_url=f"{base}/", scope=scope)
    answer = await feed_answer(ctx, query, suffix, info)
    return answer if watch is None else private(answer)


def feed_query(ctx: AppContext, args: MultiDict[str, str]) -> ListingQuery:
    """The listing's query as a feed reads it: no cursor, 100 entries unless asked."""
    query = parse_listing(args, ctx.keys.cursor)
    return attrs.evolve(query, after=None, limit=query.limit if args.get("limit") else MAX_LIMIT)


async def feed_answer(ctx: AppContext, query: ListingQuery, suffix: str, info: FeedInfo) -> Answer:
    """The feed of ``query`` in the ``suffix`` format, marked for the edge cache."""
    page = await list_releases(ctx.database, query)
    entries = [entry_of(row, public_url(ctx)) for row in page.rows]
    render, content_type = FORMATS[suffix]
    return cached_answer(render(info, entries), content_type.encode("latin-1"))
