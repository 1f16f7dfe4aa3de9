"""The Quart-Trio application: routes are small; state lives on the ``Runtime``.

The public API (listing, one release, rate limits, OpenAPI) and its protection (size limit,
per-client rate limit, CORS, security headers) are part of every app; the daemon's other
parts add their blueprints (``blueprints``); every handler reads the ``AppContext``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from quart_trio import QuartTrio

from vibed.http import errors
from vibed.http.context import AppContext


def create_app(ctx: AppContext, blueprints: Sequence[Callable[[QuartTrio], None]] = ()) -> QuartTrio:
    app = QuartTrio("vibed")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["vibed"] = ctx
    errors.install(app)  # ApiError, DatabaseUnavailable (503) and the rest, in the one JSON shape

    from vibed.http import health, protection, ratelimit_api, reads, watches_api, ws_plain
    from vibed.openapi import document as openapi

    protection.register(app)
    app.register_blueprint(health.blueprint)
    for part in (reads, watches_api, ratelimit_api, ws_plain, openapi):  # reads: the listing, releases, artists, feeds
        part.register(app)
    for register in blueprints:
        register(app)
    return app
