"""What ``/api/webhooks`` reads and writes: a subscription body checked field by field, and the
JSON of a subscription and of a delivery.  Every bad value is a 400 naming the field and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import request

from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.outbox.reach import TargetRules, url_problem
from vibed.vocab.clock import utc_iso
from vibed.vocab.json_depth import MAX_BODY_DEPTH, TooDeep, loads_shallow
from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter, parse_filter
from vibed.vocab.watch_ref import WATCH_KEY, watch_of
from vibed.webhooks.formats import FORMATS

FIELDS = ("url", "language", "source", "kind", "artist", "watch", "format")


def subscription_json(row: Mapping[str, Any]) -> dict[str, Any]:
    flt = ReleaseFilter.stored(row["languages"], row["sources"], row["kinds"], row["artists"])
    return {"id": row["id"], "url": row["url"], "language": sorted(flt.languages or ()),
            "source": ",".join(sorted(flt.sources)) if flt.sources else None,
            "kind": ",".join(sorted(flt.kinds)) if flt.kinds else None,
            "artist": sorted(flt.artists or ()), "watch": row["watch_id"], "format": row["format"],
            "created_at": utc_iso(row["created_at"]), "paused": row["paused_at"] is not None,
            "paused_reason": row["paused_reason"], "consecutive_failures": row["consecutive_failures"],
            "pending": row["pending"], "dead": row["dead"]}


def delivery_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "webhook_id": f"msg_{row['id']}", "event_id": row["event_id"], "state": row["state"],
            "attempts": row["attempts"], "next_attempt_at": utc_iso(row["next_attempt_at"]) if row["state"] == "pending"
            else None, "last_attempt_at": utc_iso(row["last_attempt_at"]), "last_status": row["last_status"],
            "last_error": row["last_error"], "delivered_at": utc_iso(row["delivered_at"]),
            "created_at": utc_iso(row["created_at"])}


def bad(detail: str) -> ApiError:
    return ApiError(400, "invalid_body", detail)


async def json_object() -> dict[str, Any]:
    raw = await request.get_data(cache=False)
    if not raw.strip():
        return {}
    try:
        body = loads_shallow(raw, max_depth=MAX_BODY_DEPTH)
    except TooDeep as exc:
        raise ApiError(400, "invalid_json", f"the body is {exc}") from None
    except ValueError:  # UnicodeDecodeError too
        raise ApiError(400, "invalid_json", "the body is not JSON") from None
    if not isinstance(body, dict):
        raise bad("the body must be a JSON object")
    return body


def parse_subscription(body: dict[str, Any], rules: TargetRules) -> dict[str, Any]:
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise bad(f"unknown field {extra[0]!r}; allowed: {', '.join(FIELDS)}")
    url = body.get("url")
    if not isinstance(url, str) or not url.strip():
        raise bad('url: required, e.g. "https://example.com/hooks/vibed"')
    problem = url_problem(url.strip(), rules)
    if problem is not None:
        raise bad(problem)
    try:  # the one filter parser: the same values, limits and codes as the list API and the streams
        watch = watch_of({key: body[key] for key in (*KEYS, WATCH_KEY) if key in body})
        release_filter = parse_filter({key: body[key] for key in KEYS if key in body})
    except BadFilter as exc:
        raise filter_error(exc) from None
    fmt = body.get("format") or "generic"
    if fmt not in FORMATS:
        raise bad(f"format: must be one of {', '.join(FORMATS)}")
    return {"url": url.strip(), "release_filter": release_filter, "format": fmt, "watch": watch}
