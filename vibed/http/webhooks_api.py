"""``/api/webhooks``: subscriptions, their delivery log, and redelivery — under the control JWT.

    POST   /api/webhooks                         subscribe → 201, the secret shown this once
    GET    /api/webhooks                         every subscription (no secrets), with counts
    GET    /api/webhooks/{id}                    one
    DELETE /api/webhooks/{id}                    unsubscribe → 204 (pending deliveries dropped)
    GET    /api/webhooks/{id}/deliveries         newest first; ?state=pending|delivered|dead, ?before=<id>
    POST   /api/webhooks/{id}/redeliver          dead ones (or {"ids": [...]}) again; resumes a paused target

Authorisation is the control endpoint's (``vibed.http.control.authorize``).  A subscription
body is ``{"url", "language", "source", "kind", "format"}``; the filters mean what they mean
on the list API (``vibed.http.listing_params``).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, current_app, jsonify, request
from werkzeug.datastructures import MultiDict

from vibed.http.control import authorize
from vibed.http.errors import ApiError
from vibed.http.listing_params import KINDS, SOURCES, parse_languages
from vibed.store import webhook_outbox as outbox
from vibed.store import webhooks as store
from vibed.webhooks.formats import FORMATS
from vibed.webhooks.signing import new_secret
from vibed.webhooks.targets import TargetRules, url_problem

blueprint = Blueprint("webhooks", __name__)
FIELDS = ("url", "language", "source", "kind", "format")
STATES = ("pending", "delivered", "dead")
MAX_ID = 2**63 - 1


def register(app: Any) -> None:
    app.register_blueprint(blueprint)


def _iso(stamp: dt.datetime | None) -> str | None:
    return None if stamp is None else stamp.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def subscription_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "url": row["url"], "language": list(row["languages"] or []),
            "source": row["source"], "kind": row["kind"], "format": row["format"],
            "created_at": _iso(row["created_at"]), "paused": row["paused_at"] is not None,
            "paused_reason": row["paused_reason"], "consecutive_failures": row["consecutive_failures"],
            "pending": row["pending"], "dead": row["dead"]}


def delivery_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "webhook_id": f"msg_{row['id']}", "event_id": row["event_id"], "state": row["state"],
            "attempts": row["attempts"], "next_attempt_at": _iso(row["next_attempt_at"]) if row["state"] == "pending"
            else None, "last_attempt_at": _iso(row["last_attempt_at"]), "last_status": row["last_status"],
            "last_error": row["last_error"], "delivered_at": _iso(row["delivered_at"]),
            "created_at": _iso(row["created_at"])}


def _bad(detail: str) -> ApiError:
    return ApiError(400, "invalid_body", detail)


async def _json_object() -> dict[str, Any]:
    raw = await request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise _bad("the body must be a JSON object")
    return body


def _choice(body: dict[str, Any], key: str, allowed: tuple[str, ...]) -> str | None:
    value = body.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or value not in allowed:
        raise _bad(f"{key}: must be one of {', '.join(allowed)} (or left out for all)")
    return value


def parse_subscription(body: dict[str, Any], rules: TargetRules) -> dict[str, Any]:
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise _bad(f"unknown field {extra[0]!r}; allowed: {', '.join(FIELDS)}")
    url = body.get("url")
    if not isinstance(url, str) or not url.strip():
        raise _bad('url: required, e.g. "https://example.com/hooks/vibed"')
    problem = url_problem(url.strip(), rules)
    if problem is not None:
        raise _bad(problem)
    language = body.get("language")
    if language is None:
        languages: tuple[str, ...] = ()
    elif isinstance(language, str) or (isinstance(language, list) and all(isinstance(x, str) for x in language)):
        try:
            languages = parse_languages(MultiDict([("language", x) for x in
                                                   ([language] if isinstance(language, str) else language)]))
        except ApiError as exc:
            raise _bad(exc.detail) from None
    else:
        raise _bad('language: a list of language codes, e.g. ["ml", "hi"]')
    fmt = body.get("format") or "generic"
    if fmt not in FORMATS:
        raise _bad(f"format: must be one of {', '.join(FORMATS)}")
    return {"url": url.strip(), "languages": list(languages) or None, "source": _choice(body, "source", SOURCES),
            "kind": _choice(body, "kind", KINDS), "format": fmt}


def _id(text: str, what: str = "id") -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ApiError(400, "invalid_parameter", f"{what}: must be a positive whole number")
    return int(text)


def _runtime() -> Any:
    runtime = current_app.extensions["vibed"]
    authorize(runtime)
    return runtime


def _no_store(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"  # subscriptions and secrets are never cached
    return response


@blueprint.post("/api/webhooks")
async def subscribe() -> Response:
    runtime = _runtime()
    values = parse_subscription(await _json_object(), TargetRules.of(runtime.config))
    secret = new_secret()
    row = await store.create(runtime.db, secret=secret, **values)
    response = jsonify({**subscription_json(row), "secret": secret})
    response.status_code = 201
    response.headers["Location"] = f"/api/webhooks/{row['id']}"
    return _no_store(response)


@blueprint.get("/api/webhooks")
async def list_subscriptions() -> Response:
    runtime = _runtime()
    return _no_store(jsonify({"data": [subscription_json(r) for r in await store.list_all(runtime.db)]}))


async def _existing(runtime: Any, webhook_id: str) -> Mapping[str, Any]:
    wid = _id(webhook_id)
    row = await store.get(runtime.db, wid)
    if row is None:
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    return row


@blueprint.get("/api/webhooks/<webhook_id>")
async def one_subscription(webhook_id: str) -> Response:
    runtime = _runtime()
    return _no_store(jsonify(subscription_json(await _existing(runtime, webhook_id))))


@blueprint.delete("/api/webhooks/<webhook_id>")
async def unsubscribe(webhook_id: str) -> Response:
    runtime = _runtime()
    wid = _id(webhook_id)
    if not await store.delete(runtime.db, wid):
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    return _no_store(Response(b"", status=204))


@blueprint.get("/api/webhooks/<webhook_id>/deliveries")
async def list_deliveries(webhook_id: str) -> Response:
    runtime = _runtime()
    row = await _existing(runtime, webhook_id)
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise ApiError(400, "invalid_parameter", f"state: must be one of {', '.join(STATES)}")
    before_text = request.args.get("before")
    before = _id(before_text, "before") if before_text else None
    limit_text = request.args.get("limit") or "50"
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise ApiError(400, "invalid_parameter", "limit: must be a whole number from 1 to 100")
    rows = await outbox.deliveries(runtime.db, row["id"], state=state, before=before, limit=int(limit_text))
    return _no_store(jsonify({"data": [delivery_json(r) for r in rows]}))


@blueprint.post("/api/webhooks/<webhook_id>/redeliver")
async def redeliver(webhook_id: str) -> Response:
    runtime = _runtime()
    wid = _id(webhook_id)
    body = await _json_object()
    extra = sorted(set(body) - {"ids"})
    if extra:
        raise _bad(f"unknown field {extra[0]!r}; allowed: ids")
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not ids or len(ids) > 1000
                            or not all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID
                                       for i in ids)):
        raise _bad('ids: a list of 1 to 1000 delivery ids, e.g. {"ids": [12, 13]}; leave it out for every dead one')
    requeued, found = await outbox.requeue(runtime.db, wid, ids)
    if not found:
        raise ApiError(404, "not_found", f"no webhook with id {wid}")
    runtime.parts.get("wake_webhooks", lambda: None)()
    response = jsonify({"requeued": requeued, "resumed": True})
    response.status_code = 202
    return _no_store(response)
