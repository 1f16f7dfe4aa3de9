"""``/api/push``: Web Push subscriptions from the page, the key they need, and the service worker.

    GET    /api/push/vapid-public-key    {"public_key": base64url}: the page's applicationServerKey
    POST   /api/push/subscriptions       PushSubscription.toJSON() + the filter → 201 (200: replaced)
    DELETE /api/push/subscriptions       {"endpoint"} → 204; 404 when no subscription has it
    GET    /sw.js                        the service worker that shows each push as a notification

No token: a visitor of the page subscribes its own browser.  The endpoint is the capability (see
vibed/push/subscriptions.py); it is held to the webhooks' SSRF rules, and the keys are checked
(p256dh a P-256 point, auth 16 bytes) before anything is stored.  The filter is the one
``ReleaseFilter`` (``language``, ``source``, ``kind``, ``artist``), with the list API's values and codes,
or ``watch``: a watch's id (vibed/store/watches.py), whose filter the subscription then follows as
the watch changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

from vibed.http.answers import no_store
from vibed.http.context import context
from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.http.page import asset_bytes
from vibed.http.webhook_bodies import bad, json_object
from vibed.outbox.reach import TargetRules, url_problem
from vibed.push import keys
from vibed.push import subscriptions as store
from vibed.push.crypto import BadKeys, b64url, check_keys
from vibed.store import watches
from vibed.vocab.release_filter import EVERYTHING, KEYS, BadFilter, ReleaseFilter, parse_filter
from vibed.vocab.watch_ref import WATCH_KEY, watch_of

blueprint = Blueprint("push", __name__)
FIELDS = ("endpoint", "keys", "expirationTime", "watch", *KEYS)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


@blueprint.get("/api/push/vapid-public-key")
async def vapid_public_key() -> Response:
    key = await keys.public_key(context().database)
    if key is None:
        raise ApiError(503, "push_unavailable", "no VAPID key yet: the first daemon to start makes it")
    response = jsonify({"public_key": b64url(key)})
    response.headers["Cache-Control"] = "no-cache"  # made once and kept, yet a restore may bring another
    response.headers["ETag"] = f'"{hashlib.blake2b(key, digest_size=16).hexdigest()}"'
    return response


def _endpoint(body: Mapping[str, Any]) -> str:
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise bad('endpoint: required, the PushSubscription\'s endpoint, e.g. "https://push.example/send/…"')
    problem = url_problem(endpoint.strip(), TargetRules.of(context().settings()))
    if problem is not None:
        raise bad(problem.replace("url:", "endpoint:", 1))
    return endpoint.strip()


async def parse_push_subscription(body: Mapping[str, Any]) -> store.NewSubscription:
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise bad(f"unknown field {extra[0]!r}; allowed: {', '.join(FIELDS)}")
    endpoint = _endpoint(body)
    raw_keys = body.get("keys")
    if not isinstance(raw_keys, dict):
        raise bad('keys: required, {"p256dh": …, "auth": …} as PushSubscription.toJSON() gives them')
    try:
        p256dh, auth = check_keys(raw_keys.get("p256dh"), raw_keys.get("auth"))
    except BadKeys as exc:
        raise ApiError(400, "invalid_keys", str(exc)) from None
    try:  # the one filter parser, and the one watch reference: the same values and codes as every path
        release_filter = parse_filter({key: body[key] for key in KEYS if key in body})
        watch = watch_of({key: body[key] for key in (*KEYS, WATCH_KEY) if key in body})
    except BadFilter as exc:
        raise filter_error(exc) from None
    if watch is None:
        return store.NewSubscription(endpoint, p256dh, auth, release_filter, None)
    if await watches.resolve(context().database, watch) is None:
        raise ApiError(400, "unknown_watch", f"watch: no watch with id {watch} (POST /api/watches makes one)")
    return store.NewSubscription(endpoint, p256dh, auth, EVERYTHING, watch)


def _subscription_json(row: Mapping[str, Any], flt: ReleaseFilter) -> dict[str, Any]:
    return {"id": row["id"], "language": sorted(flt.languages or ()), "source": sorted(flt.sources or ()),
            "kind": sorted(flt.kinds or ()), "artist": sorted(flt.artists or ()), "watch": row["watch_id"]}


@blueprint.post("/api/push/subscriptions")
async def subscribe() -> Response:
    sub = await parse_push_subscription(await json_object())
    ctx = context()
    db = ctx.database
    try:
        row = await store.subscribe(db, sub, ctx.settings().max_push_subscriptions)
    except store.TooMany as exc:
        raise ApiError(503, "too_many_subscriptions", f"{exc}; an operator raises VIBED_MAX_PUSH_SUBSCRIPTIONS",
                       {"Retry-After": "3600"}) from None
    # a watch's filter as it is now (it follows the watch); else the subscription's own
    flt = (await watches.resolve(db, sub.watch) if sub.watch else None) or sub.release_filter
    response = jsonify(_subscription_json(row, flt))
    response.status_code = 201 if row["created"] else 200
    return no_store(response)


@blueprint.delete("/api/push/subscriptions")
async def unsubscribe() -> Response:
    body = await json_object()
    extra = sorted(set(body) - {"endpoint", "keys", "expirationTime"})
    if extra:
        raise bad(f"unknown field {extra[0]!r}; allowed: endpoint")
    endpoint = body.get("endpoint")
    if not isinstance(endpoint, str) or not endpoint.strip():
        raise bad("endpoint: required, the endpoint the browser subscribed with")
    if not await store.unsubscribe(context().database, endpoint.strip()):
        raise ApiError(404, "not_found", "no push subscription has this endpoint")
    return no_store(Response(b"", status=204))


@blueprint.get("/sw.js")
async def service_worker() -> Response:
    body = asset_bytes("sw.js")
    response = Response(body, status=200, content_type="text/javascript; charset=utf-8")
    response.headers["ETag"] = f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"'
    response.headers["Cache-Control"] = "no-cache"  # browsers check a worker's script for updates anyway
    return response
