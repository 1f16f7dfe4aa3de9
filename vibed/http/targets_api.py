"""``/api/notify/targets``: notification targets through Apprise — under the control JWT, as webhooks.

    POST   /api/notify/targets          {"url", "filter" | "watch", "digest", "quiet_hours", "tz"} → 201
    GET    /api/notify/targets          the caller's targets
    GET    /api/notify/targets/{id}     one
    DELETE /api/notify/targets/{id}     gone → 204 (its pending releases are never sent)
    GET    /api/notify/targets/{id}/deliveries, POST …/redeliver: vibed/http/targets_log_api.py

A target belongs to whoever made it (the token's subject, or loopback authority): another owner gets
404, as for one that does not exist.  Its URL holds credentials, so no answer carries it: ``url`` is
always the masked form (vibed/targets/urls.py).  A URL whose host the daemon would reach itself
(json://, form://, xml://, ntfy://, gotify:// …) must resolve to public addresses, as a webhook's must
(``VIBED_WEBHOOK_ALLOW_CIDRS`` lets tests and LANs in).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

from vibed.http import targets_log_api
from vibed.http.answers import created, no_store
from vibed.http.context import AppContext, context
from vibed.http.control import authorize
from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.http.webhook_bodies import bad, json_object
from vibed.outbox.reach import RefusedTarget, TargetRules
from vibed.store import watches
from vibed.targets import reach, registry
from vibed.targets.schedule import BadSchedule, QuietHours, parse_quiet_hours, parse_tz
from vibed.targets.urls import BadTargetUrl, parse_target_url
from vibed.vocab.clock import utc_iso
from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter, parse_filter
from vibed.vocab.watch_ref import WATCH_KEY, watch_of

blueprint = Blueprint("notify_targets", __name__)
FIELDS = ("url", "filter", "watch", "digest", "quiet_hours", "tz")
DIGESTS = ("off", "hourly", "daily")
MAX_ID = 2**63 - 1


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)
    app.register_blueprint(targets_log_api.blueprint)  # its message log and redelivery


def target_json(row: Mapping[str, Any]) -> dict[str, Any]:
    flt = ReleaseFilter.stored(row["languages"], row["sources"], row["kinds"], row["artists"])
    quiet = None if row["quiet_start"] is None else QuietHours(row["quiet_start"], row["quiet_end"]).text()
    return {"id": row["id"], "url": row["shown_url"], "service": row["service"],
            "filter": None if row["watch_id"] is not None else dict(flt.query_pairs()),
            "watch": row["watch_id"], "digest": row["digest"], "quiet_hours": quiet, "tz": row["tz"],
            "created_at": utc_iso(row["created_at"]), "paused": row["paused_at"] is not None,
            "paused_reason": row["paused_reason"], "consecutive_failures": row["consecutive_failures"],
            "pending": row["pending"], "dead": row["dead"]}


def _id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ApiError(400, "invalid_parameter", "id: must be a positive whole number")
    return int(text)


async def _reachable(url: str, rules: TargetRules) -> None:
    """A self-hosted service's host must resolve to addresses a webhook could be sent to (checked again
    before every message, by the sender)."""
    try:
        await reach.vet(url, rules)
    except RefusedTarget as exc:
        raise bad(f"url: {exc}") from None


def _release_filter(body: dict[str, Any]) -> ReleaseFilter:
    raw = body.get("filter")
    if raw is None:
        return ReleaseFilter()
    if not isinstance(raw, dict):
        raise bad('filter: an object of the list API\'s filters, e.g. {"language": ["ml"], "artist": [7]}')
    extra = sorted(set(raw) - set(KEYS))
    if extra:
        raise bad(f"filter: unknown key {extra[0][:40]!r}; allowed: {', '.join(KEYS)}")
    try:
        return parse_filter(raw)
    except BadFilter as exc:
        raise filter_error(exc) from None


async def _watch(ctx: AppContext, body: dict[str, Any]) -> str | None:
    """The watch a target follows, refused with the codes every path uses for a watch (push, webhooks,
    the listing): ``watch_and_filter`` beside a filter, ``bad_watch`` malformed, ``unknown_watch``."""
    if body.get("watch") is None:
        return None
    if body.get("filter") is not None:
        raise ApiError(400, "watch_and_filter", "watch: a watch is the whole filter, so filter cannot be given "
                       "beside it; change the watch (PATCH /api/watches/{id}) to narrow it")
    try:
        watch = watch_of({WATCH_KEY: body["watch"]})
    except BadFilter as exc:
        raise filter_error(exc) from None
    if watch is None or await watches.resolve(ctx.database, watch) is None:
        raise ApiError(400, "unknown_watch", f"watch: no watch with id {watch} (POST /api/watches makes one)")
    return watch


async def parse_target(ctx: AppContext, owner: str, body: dict[str, Any]) -> registry.NewTarget:
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise bad(f"unknown field {extra[0][:40]!r}; allowed: {', '.join(FIELDS)}")
    url = body.get("url")
    if not isinstance(url, str):
        raise bad('url: required, an Apprise URL, e.g. "ntfys://ntfy.sh/my-topic"')
    try:
        target = parse_target_url(url)
    except BadTargetUrl as exc:
        raise bad(str(exc)) from None
    watch = await _watch(ctx, body)
    digest = body.get("digest", "off")
    if digest not in DIGESTS:
        raise bad(f"digest: one of {', '.join(DIGESTS)}")
    tz = body.get("tz", "UTC")
    quiet_text = body.get("quiet_hours")
    try:
        if not isinstance(tz, str):
            raise BadSchedule('tz: an IANA time zone name, e.g. "Asia/Kolkata"')
        parse_tz(tz)
        if quiet_text is not None and not isinstance(quiet_text, str):
            raise BadSchedule('quiet_hours: "HH:MM-HH:MM", e.g. "22:00-07:00"')
        quiet = None if quiet_text is None else parse_quiet_hours(quiet_text)
    except BadSchedule as exc:
        raise bad(str(exc)) from None
    release_filter = _release_filter(body)
    await _reachable(target.url, TargetRules.of(ctx.settings()))  # last: it may ask DNS
    return registry.NewTarget(owner=owner, url=target.url, shown_url=target.shown, service=target.service,
                              release_filter=release_filter, watch_id=watch, digest=digest,
                              quiet=None if quiet is None else (quiet.start, quiet.end), tz=tz)


@blueprint.post("/api/notify/targets")
async def create_target() -> Response:
    ctx = context()
    owner = authorize(ctx)
    row = await registry.create(ctx.database, await parse_target(ctx, owner, await json_object()))
    return created(target_json(row), f"/api/notify/targets/{row['id']}")


@blueprint.get("/api/notify/targets")
async def list_targets() -> Response:
    ctx = context()
    rows = await registry.list_all(ctx.database, authorize(ctx))
    return no_store(jsonify({"data": [target_json(r) for r in rows]}))


@blueprint.get("/api/notify/targets/<target_id>")
async def one_target(target_id: str) -> Response:
    ctx = context()
    owner = authorize(ctx)
    tid = _id(target_id)
    row = await registry.get(ctx.database, tid, owner)
    if row is None:
        raise ApiError(404, "not_found", f"no notification target with id {tid}")
    return no_store(jsonify(target_json(row)))


@blueprint.delete("/api/notify/targets/<target_id>")
async def delete_target(target_id: str) -> Response:
    ctx = context()
    owner = authorize(ctx)
    tid = _id(target_id)
    if not await registry.delete(ctx.database, tid, owner):
        raise ApiError(404, "not_found", f"no notification target with id {tid}")
    return no_store(Response(b"", status=204))
