"""``GET /feeds/watch/{id}.atom|.rss|.json|.ics``: a watch's releases as a private feed or calendar.

The id is the capability (as a private calendar link is): no token is asked, and the answer is
``private, no-cache`` and never held by the edge, so an edit of the watch shows at the next refresh.
``?limit=`` (≤ 100) and ``?since=``/``?q=`` narrow it as on the public feeds; the filter is the watch's.
"""

from __future__ import annotations

from urllib.parse import urlencode

import attrs
from quart import Blueprint, Response, request
from quart_trio import QuartTrio

from vibed.feeds.render import FeedInfo
from vibed.http.context import context
from vibed.http.errors import ApiError
from vibed.http.feeds import FORMATS, feed_query, feed_response, public_url
from vibed.http.listing_params import filter_error
from vibed.http.watched import private
from vibed.store import watches
from vibed.vocab.release_filter import KEYS, BadFilter
from vibed.vocab.watch_ref import WATCH_KEY, UnknownWatch, is_watch_id, watch_of

blueprint = Blueprint("watch_feeds", __name__)
PATH = "/feeds/watch"


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


@blueprint.get(f"{PATH}/<watch_id>.<suffix>")
async def watch_feed(watch_id: str, suffix: str) -> Response:
    ctx = context()
    if suffix not in FORMATS:
        raise ApiError(404, "not_found", f"no such feed format; one of {', '.join(f'.{s}' for s in FORMATS)}")
    watch = await watches.get(ctx.database, watch_id) if is_watch_id(watch_id) else None
    if watch is None:
        raise ApiError(404, "not_found", UnknownWatch(watch_id[:40]).detail)
    try:  # the watch is the whole filter: ?language= and the rest beside it are a 400, as with ?watch=
        watch_of({**{key: request.args.getlist(key) for key in KEYS if key in request.args}, WATCH_KEY: watch.id})
    except BadFilter as exc:
        raise filter_error(exc) from None
    query = attrs.evolve(feed_query(ctx), filter=watch.filter)
    base = public_url(ctx)
    asked = urlencode([(k, v) for k, v in request.args.items() if k in ("limit", "since", "q")])
    info = FeedInfo(title=f"vibed: {watch.name}", self_url=f"{base}{PATH}/{watch.id}.{suffix}" +
                    (f"?{asked}" if asked else ""), home_url=f"{base}/", scope=f"watch={watch.id}")
    return private(await feed_response(ctx, query, suffix, info))
