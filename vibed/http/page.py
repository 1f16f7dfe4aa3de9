"""``GET /``: the live page (plain HTML, CSS and JavaScript; no build step)."""

from __future__ import annotations

import html
from importlib import resources
from typing import Any

from quart import Blueprint, Response, current_app

from vibed.vocab.edge_keys import EDGE_CACHE

blueprint = Blueprint("page", __name__)
ASSETS = {"app.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
PAGE_CSP = ("default-src 'self'; img-src 'self' https: http: data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


def register(app: Any) -> None:
    app.register_blueprint(blueprint)


def _read(name: str) -> str:
    return resources.files("vibed.http").joinpath(f"static/{name}").read_text(encoding="utf-8")


@blueprint.get("/static/<name>")
async def asset(name: str):  # type: ignore[no-untyped-def]
    if name not in ASSETS:  # a fixed list: no path from the request ever reaches the file system
        from vibed.http.errors import ApiError

        raise ApiError(404, "not_found", f"no asset {name!r}")
    response = Response(_read(name), status=200, content_type=ASSETS[name])
    response.headers["Cache-Control"] = "public, max-age=300"
    response.headers[EDGE_CACHE] = "1"
    return response


@blueprint.get("/")
async def index():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    text = _read("index.html").replace("{{LANGUAGES}}", html.escape(",".join(runtime.config.languages)))
    response = Response(text, status=200, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["Cache-Control"] = "no-cache"  # browsers revalidate; the edge holds it for them
    response.headers[EDGE_CACHE] = "1"
    return response
