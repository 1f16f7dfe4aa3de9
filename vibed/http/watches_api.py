"""``/api/watches``: saved filters that need no account — the id reads, the token manages.

    POST   /api/watches        {"name", "artists", "artist_names", "languages", "sources", "kinds"}
                               → 201 {"id", "token", ...}: the token is shown this once
    GET    /api/watches/{id}   the watch: its artists, its pending names, its filter, its links
    PATCH  /api/watches/{id}   the fields given replace those parts (see ``watch_bodies``)
    DELETE /api/watches/{id}   → 204; ``watch={id}`` answers 404 from then on

GET, PATCH and DELETE need ``Authorization: Bearer <token>``: without it, or with another token, a
401 (the token is compared as a sha256, in constant time, and never logged).  An id that names no
watch is a 404.  The id itself is a capability URL, like a private calendar link: whoever has it
reads the watch's releases (``?watch=<id>`` on the listing, the streams and the feeds).  Nothing
here is cached anywhere (``no-store``).  A PATCH or DELETE reaches the streams already open on the watch
(``vibed/delivery/watch_changes.py``): when it answers, this instance's streams hold the new filter, or
have ended; other instances hear it over the bus.
"""

from __future__ import annotations

from quart import Blueprint, Response, jsonify, request
from quart_trio import QuartTrio

from vibed.http.answers import created, no_store
from vibed.http.context import context
from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.http.watch_bodies import parse_watch_body, watch_json
from vibed.http.webhook_bodies import json_object
from vibed.store import watches as store
from vibed.store.watches import BadFollow, TooManyWatches, Watch
from vibed.vocab.watch_ref import UnknownWatch, is_watch_id

blueprint = Blueprint("watches", __name__)
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="vibed watch"'}


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def _bearer() -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "unauthorized", "this watch needs its token: send Authorization: Bearer <token> "
                                            "(the token POST /api/watches returned)", CHALLENGE)
    return token.strip()


async def _owned(watch_id: str) -> Watch:
    """The watch, when the request carries its token: 401 without one or with another, 404 for no watch."""
    token = _bearer()
    watch = await store.get(context().database, watch_id) if is_watch_id(watch_id) else None
    if watch is None:
        raise ApiError(404, "not_found", UnknownWatch(watch_id[:40]).detail)
    if not store.token_matches(watch, token):
        raise ApiError(401, "unauthorized", "this token is not the watch's token", CHALLENGE)
    return watch


@blueprint.post("/api/watches")
async def create_watch() -> Response:
    change = parse_watch_body(await json_object(), creating=True)
    ctx = context()
    try:
        watch, token = await store.create(ctx.database, change, most=ctx.settings().max_watches)
    except BadFollow as exc:
        raise filter_error(exc) from None
    except TooManyWatches as exc:
        raise ApiError(503, "too_many_watches", f"{exc}; an operator raises it", {"Retry-After": "3600"}) from None
    return created({**watch_json(watch), "token": token}, f"/api/watches/{watch.id}")


@blueprint.get("/api/watches/<watch_id>")
async def one_watch(watch_id: str) -> Response:
    return no_store(jsonify(watch_json(await _owned(watch_id))))


@blueprint.patch("/api/watches/<watch_id>")
async def change_watch(watch_id: str) -> Response:
    watch = await _owned(watch_id)
    change = parse_watch_body(await json_object(), creating=False)
    try:
        changed = await store.update(context().database, watch.id, change)
    except BadFollow as exc:
        raise filter_error(exc) from None
    if changed is None:  # deleted between the two statements
        raise ApiError(404, "not_found", UnknownWatch(watch.id).detail)
    await context().watch_changed(watch.id)  # the streams open on it take the new filter
    return no_store(jsonify(watch_json(changed)))


@blueprint.delete("/api/watches/<watch_id>")
async def delete_watch(watch_id: str) -> Response:
    watch = await _owned(watch_id)
    if await store.delete(context().database, watch.id):
        await context().watch_changed(watch.id)  # the streams open on it end
    return no_store(Response(b"", status=204))
