"""The Quart-Trio application: routes are small; state lives on the ``Runtime``.

The public API (listing, one release, rate limits, OpenAPI) and its protection (size limit,
per-client rate limit, CORS, security headers) are part of every app; the daemon's other
parts add their blueprints (``blueprints``); every handler reads the ``AppContext``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from quart import Response
from quart_trio import QuartTrio

from vibed.http import errors
from vibed.http.context import AppContext
from vibed.logs import get_logger
from vibed.store.postgres import DatabaseUnavailable

log = get_logger("vibed.http")
LOG_EVERY = 10.0  # seconds between http_database_unavailable lines


def create_app(ctx: AppContext, blueprints: Sequence[Callable[[QuartTrio], None]] = ()) -> QuartTrio:
    app = QuartTrio("vibed")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["vibed"] = ctx
    errors.install(app)

    last_logged = [-LOG_EVERY]

    @app.errorhandler(DatabaseUnavailable)
    async def _database_unavailable(exc: DatabaseUnavailable) -> Response:
        # the database is down, restarting or stalled: a retryable 503, not a crash; one line per
        # LOG_EVERY seconds, not one per request, while it lasts
        now = time.monotonic()
        if now - last_logged[0] >= LOG_EVERY:
            last_logged[0] = now
            log.warning("http_database_unavailable", error=str(exc)[:200])
        return errors.error_response(503, "database_unavailable",
                                     "the database is not answering; try again shortly", {"Retry-After": "5"})

    from vibed.http import (
        artists,
        feeds,
        health,
        protection,
        ratelimit_api,
        releases,
        watch_feeds,
        watches_api,
    )
    from vibed.openapi import document as openapi

    protection.register(app)
    app.register_blueprint(health.blueprint)
    for part in (releases, artists, feeds, watches_api, watch_feeds, ratelimit_api, openapi):
        part.register(app)
    for register in blueprints:
        register(app)
    return app
