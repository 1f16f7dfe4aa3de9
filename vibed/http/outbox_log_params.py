"""What the operator's outbox endpoints read (webhooks and notification targets alike): a log page's query,
a redeliver body, and the 202 a redeliver answers.  Every bad value is a 400 in the one error shape."""

from __future__ import annotations

from typing import Any

from quart import Response, jsonify, request

from vibed.http.answers import no_store
from vibed.http.errors import ApiError
from vibed.http.webhook_bodies import bad

STATES = ("pending", "delivered", "dead")
MAX_ID = 2**63 - 1
MAX_IDS = 1000


def row_id(text: str, what: str = "id") -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise ApiError(400, "invalid_parameter", f"{what}: must be a positive whole number")
    return int(text)


def log_query() -> tuple[str | None, int | None, int]:
    """``?state=&before=&limit=`` of a log page: (state or None, before or None, limit 1..100, 50 by default)."""
    state = request.args.get("state") or None
    if state is not None and state not in STATES:
        raise ApiError(400, "invalid_parameter", f"state: must be one of {', '.join(STATES)}")
    before_text = request.args.get("before")
    before = row_id(before_text, "before") if before_text else None
    limit_text = request.args.get("limit") or "50"
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= 100:
        raise ApiError(400, "invalid_parameter", "limit: must be a whole number from 1 to 100")
    return state, before, int(limit_text)


def redeliver_ids(body: dict[str, Any], what: str) -> list[int] | None:
    """The ``ids`` of a redeliver body (``what`` the rows are called), or None: every dead one."""
    extra = sorted(set(body) - {"ids"})
    if extra:
        raise bad(f"unknown field {extra[0][:40]!r}; allowed: ids")
    ids = body.get("ids")
    if ids is not None and (not isinstance(ids, list) or not ids or len(ids) > MAX_IDS
                            or not all(isinstance(i, int) and not isinstance(i, bool) and 1 <= i <= MAX_ID
                                       for i in ids)):
        raise bad(f'ids: a list of 1 to {MAX_IDS} {what} ids, e.g. {{"ids": [12, 13]}}; leave it out for every '
                  "dead one")
    return ids


def requeued(count: int) -> Response:
    """202: ``count`` rows pending again, and the owner resumed."""
    response = jsonify({"requeued": count, "resumed": True})
    response.status_code = 202
    return no_store(response)
