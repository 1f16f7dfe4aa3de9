"""``/api/webhooks``: subscriptions, their delivery log, and redelivery — under the control JWT.

    POST   /api/webhooks                         subscribe → 201, the secret shown this once
    GET    /api/webhooks                         every subscription (no secrets), with counts
    GET    /api/webhooks/{id}                    one
    DELETE /api/webhooks/{id}                    unsubscribe → 204 (pending deliveries dropped)
    GET    /api/webhooks/{id}/deliveries         newest first; ?state=pending|delivered|dead, ?before=<id>
    POST   /api/webhooks/{id}/redeliver          dead ones (or {"ids": [...]}) again; resumes a paused target

Authorisation is the control endpoint's (``vibed.http.control.authorize``), and a subscription
belongs to whoever made it: another token's subject (or loopback authority) gets 404 for it, as
for one that does not exist, and never sees it in the list.  A subscription
body is ``{"url", "language", "source", "kind", "artist", "format"}`` or ``{"url", "watch", "format"}``
(checked in ``webhook_bodies``); the filters mean what they mean on the list API, and a watch's filter
is read as each event is written (an edit of the watch applies to the next event).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

from vibed.http.answers import created, no_store
from vibed.http.context import AppContext, context
from vibed.http.control import authorize
from vibed.http.errors import ApiError
from vibed.http.outbox_log_params import log_query, redeliver_ids, requeued, row_id
from vibed.http.webhook_bodies import delivery_json, json_object, parse_subscription, subscription_json
from vibed.outbox.reach import TargetRules
from vibed.store import watches
from vibed.webhooks import outbox as outbox
from vibed.webhooks import subscriptions as store
from vibed.webhooks.signing import new_secret

blueprint = Blueprint("webhooks", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def _context() -> tuple[AppContext, str]:
    """The app's context, and the owner the caller is (see ``authorize``)."""
    ctx = context()
    return ctx, authorize(ctx)


@blueprint.post("/api/webhooks")
async def subscribe() -> Response:
    ctx, owner = _context()
    values = parse_subscription(await json_object(), TargetRules.of(ctx.settings()))
    if values["watch"] is not None and await watches.resolve(ctx.database, values["watch"]) is None:
        raise ApiError(400, "unknown_watch", f"watch: no watch with id {values['watch']} (POST /api/watches makes one)")
    secret = new_secret()
    row = await store.create(ctx.database, secret=secret, owner=owner, **values)
    return created({**subscription_json(row), "secret": secret}, f"/api/webhooks/{row['id']}")


@blueprint.get("/api/webhooks")
async def list_subscriptions() -> Response:
    ctx, owner = _context()
    rows = await store.list_all(ctx.database, owner)
    return no_store(jsonify({"data": [subscription_json(r) for r in rows]}))


async def _existing(ctx: AppContext, owner: str, webhook_id: str) -> Mapping[str, Any]:
    wid = row_id(webhook_id)
    row = await store.get(ctx.database, wid, owner)
    if row is None:
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    return row


@blueprint.get("/api/webhooks/<webhook_id>")
async def one_subscription(webhook_id: str) -> Response:
    ctx, owner = _context()
    return no_store(jsonify(subscription_json(await _existing(ctx, owner, webhook_id))))


@blueprint.delete("/api/webhooks/<webhook_id>")
async def unsubscribe(webhook_id: str) -> Response:
    ctx, owner = _context()
    wid = row_id(webhook_id)
    if not await store.delete(ctx.database, wid, owner):
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    return no_store(Response(b"", status=204))


@blueprint.get("/api/webhooks/<webhook_id>/deliveries")
async def list_deliveries(webhook_id: str) -> Response:
    ctx, owner = _context()
    row = await _existing(ctx, owner, webhook_id)
    state, before, limit = log_query()
    rows = await outbox.deliveries(ctx.database, row["id"], state=state, before=before, limit=limit)
    return no_store(jsonify({"data": [delivery_json(r) for r in rows]}))


@blueprint.post("/api/webhooks/<webhook_id>/redeliver")
async def redeliver(webhook_id: str) -> Response:
    ctx, owner = _context()
    wid = (await _existing(ctx, owner, webhook_id))["id"]  # another owner's: 404, nothing requeued
    ids = redeliver_ids(await json_object(), "delivery")
    count, found = await outbox.requeue(ctx.database, wid, ids)
    if not found:
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    ctx.wake_webhooks()
    return requeued(count)
