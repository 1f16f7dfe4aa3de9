"""A notification target's message log and redelivery — under the control JWT, as the webhooks' are.

    GET    /api/notify/targets/{id}/deliveries   its outbox rows, newest first; ?state=pending|delivered|dead,
                                                 ?before=<id>, ?limit=1..100
    POST   /api/notify/targets/{id}/redeliver    dead ones (or {"ids": [...]}) pending again; resumes the target

A row is one release for one target; ``message_id`` names the message that carried it (several rows
share one when a burst was folded or a digest sent).  No answer carries the target's URL: it is a
credential.  Another owner's target is a 404, as one that does not exist, and nothing is requeued.
The SQL is the outbox core's (vibed/store/outbox_log.py), the same as for webhooks.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from quart import Blueprint, Response, jsonify

from vibed.http.answers import no_store
from vibed.http.context import context
from vibed.http.control import authorize
from vibed.http.errors import ApiError
from vibed.http.outbox_log_params import log_query, redeliver_ids, requeued, row_id
from vibed.http.webhook_bodies import json_object
from vibed.targets import outbox, registry
from vibed.vocab.clock import utc_iso

blueprint = Blueprint("notify_target_log", __name__)


def message_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "event_id": row["event_id"], "message_id": row["message_id"], "state": row["state"],
            "attempts": row["attempts"],
            "next_attempt_at": utc_iso(row["next_attempt_at"]) if row["state"] == "pending" else None,
            "last_attempt_at": utc_iso(row["last_attempt_at"]), "last_error": row["last_error"],
            "delivered_at": utc_iso(row["delivered_at"]), "created_at": utc_iso(row["created_at"])}


async def _owned(target_id: str) -> int:
    """The target's id when it exists and is the caller's; else 404."""
    ctx = context()
    tid = row_id(target_id)
    if await registry.get(ctx.database, tid, authorize(ctx)) is None:
        raise ApiError(404, "not_found", f"no notification target with id {tid}")
    return tid


@blueprint.get("/api/notify/targets/<target_id>/deliveries")
async def list_messages(target_id: str) -> Response:
    tid = await _owned(target_id)
    state, before, limit = log_query()
    rows = await outbox.deliveries(context().database, tid, state=state, before=before, limit=limit)
    return no_store(jsonify({"data": [message_json(r) for r in rows]}))


@blueprint.post("/api/notify/targets/<target_id>/redeliver")
async def redeliver(target_id: str) -> Response:
    tid = await _owned(target_id)  # another owner's: 404, nothing requeued
    ids = redeliver_ids(await json_object(), "row")
    ctx = context()
    count, found = await outbox.requeue(ctx.database, tid, ids)
    if not found:  # deleted meanwhile
        raise ApiError(404, "not_found", f"no notification target with id {tid}")
    ctx.wake_targets()
    return requeued(count)
