"""``GET /feeds/watch/{id}.atom|.rss|.json|.ics``: a watch's releases as a private feed or calendar.

The id is the capability (as a private calendar link is): no token is asked, and the answer is
``private, no-cache`` and never held by the edge, so an edit of the watch shows at the next refresh.
``?limit=`` (≤ 100) and ``?since=``/``?q=`` narrow it as on the public feeds; the filter is the
watch's, so ``language`` and the rest beside it are a 400, as beside ``?watch=``.  A read endpoint
(vibed/http/reads.py): the edge serves it without the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import attrs
from werkzeug.datastructures import MultiDict

from vibed.edge.respond import Answer
from vibed.feeds.render import FeedInfo
from vibed.http.context import AppContext
from vibed.http.errors import ApiError
from vibed.http.feeds import FORMATS, feed_answer, feed_query, public_url
from vibed.http.listing_params import filter_error
from vibed.http.watched import private
from vibed.store import watches
from vibed.vocab.release_filter import KEYS, BadFilter
from vibed.vocab.watch_ref import WATCH_KEY, UnknownWatch, alone, is_watch_id

PATH = "/feeds/watch"


async def watch_feed(ctx: AppContext, params: Mapping[str, str], args: MultiDict[str, str]) -> Answer:
    watch_id, suffix = params["watch_id"], params["suffix"]
    if suffix not in FORMATS:
        raise ApiError(404, "not_found", f"no such feed format; one of {', '.join(f'.{s}' for s in FORMATS)}")
    try:  # the watch is the whole filter: ?language= and the rest beside it are a 400, as with ?watch=
        alone({key: args.getlist(key) for key in KEYS if key in args})
        if WATCH_KEY in args:  # another (or the same) watch named beside the URL's: not silently ignored
            raise BadFilter("watch_and_filter", "watch: this feed's URL names its watch; drop ?watch=")
    except BadFilter as exc:
        raise filter_error(exc) from None
    watch = await watches.get(ctx.database, watch_id) if is_watch_id(watch_id) else None
    if watch is None:
        raise ApiError(404, "not_found", UnknownWatch(watch_id[:40]).detail)
    query = attrs.evolve(feed_query(ctx, args), filter=watch.filter)
    base = public_url(ctx)
    asked = urlencode([(k, v) for k, v in args.items() if k in ("limit", "since", "q")])
    info = FeedInfo(title=f"vibed: {watch.name}", self_url=f"{base}{PATH}/{watch.id}.{suffix}" +
                    (f"?{asked}" if asked else ""), home_url=f"{base}/", scope=f"watch={watch.id}")
    return private(await feed_answer(ctx, query, suffix, info))
