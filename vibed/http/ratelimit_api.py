"""``GET /api/rate-limit``: the upstream token buckets as the database sees them right now.

Every figure comes from ``bucket.all_buckets`` (the database's clock and its continuous refill),
never from a cached copy, so what an operator reads is what the next fetch will meet.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

from vibed.http.context import context
from vibed.store.bucket import BucketState, all_buckets

blueprint = Blueprint("ratelimit_api", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def bucket_json(state: BucketState) -> dict[str, Any]:
    return {
        "tokens": round(state.tokens, 3),
        "max_tokens": state.max_tokens,
        "refill_rate": state.refill_rate,  # tokens per refill interval
        "refill_interval_s": state.interval_s,
        # seconds until one whole token is available (0: one is available now; null: never, rate 0)
        "next_token_s": None if state.next_token_s is None else round(state.next_token_s, 3),
    }


@blueprint.get("/api/rate-limit")
async def rate_limit() -> Response:
    states = await all_buckets(context().database)
    response = jsonify({"services": {s.service: bucket_json(s) for s in states}})
    response.headers["Cache-Control"] = "no-store"
    return response
