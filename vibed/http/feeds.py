"""``GET /feeds/new-releases.atom|.rss|.json``: the newest releases for feed readers.

The filters are the list API's (``language``, ``source``, ``kind``, ``artist``, ``since``, ``q``, ``limit``
≤ 100, default 100), checked by the same parser.  Answers carry ``ETag`` (a hash of the bytes)
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
from vibed.feeds.entries import entry_of
from vibed.feeds.render import FORMATS, FeedInfo
from vibed.http.answers import cached_answer
from vibed.http.context import AppContext
from vibed.http.listing_params import MAX_LIMIT, parse_listing
from vibed.store.listing import ListingQuery, list_releases

PATH = "/feeds/new-releases"


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
    query = parse_listing(args, ctx.keys.cursor)
    query = attrs.evolve(query, after=None, limit=query.limit if args.get("limit") else MAX_LIMIT)
    page = await list_releases(ctx.database, query)
    base = public_url(ctx)
    entries = [entry_of(row, base) for row in page.rows]
    scope = scope_of(query)
    asked = "&".join(p for p in (scope, urlencode({"limit": query.limit}) if args.get("limit") else "") if p)
    info = FeedInfo(title=_title(query), self_url=f"{base}{PATH}.{suffix}" + (f"?{asked}" if asked else ""),
                    home_url=f"{base}/", scope=scope)
    render, content_type = FORMATS[suffix]
    return cached_answer(render(info, entries), content_type.encode("latin-1"))
