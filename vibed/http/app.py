"""The Quart-Trio application: routes are small; state lives on the ``Runtime``."""

from __future__ import annotations

from typing import Any

from quart_trio import QuartTrio

from vibed.http import errors


def create_app(runtime: Any) -> QuartTrio:
    app = QuartTrio("vibed")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False  # type: ignore[attr-defined]
    app.extensions["vibed"] = runtime
    errors.install(app)

    from vibed.http import health

    app.register_blueprint(health.blueprint)
    for register in getattr(runtime, "blueprints", ()):
        register(app)
    return app
