"""``GET /``: the live page (plain HTML, CSS and JavaScript; no build step).

The page links its assets by content: ``/static/app.<hash>.js``, where the hash is of the bytes
served, so a page always runs the scripts it was written with.  A versioned asset never changes
at its URL and is cached for a year (``immutable``); the page itself is revalidated on every
use (``no-cache``) against its ``ETag``, so a deploy reaches a browser at its next load and
brings its new asset URLs with it.  An unknown hash is a 404, never other bytes under an old
name; the plain names (``/static/app.js``) still answer, revalidated, for anything that kept them.
"""

from __future__ import annotations

import functools
import hashlib
import html
from importlib import resources

from quart import Blueprint, Response
from quart_trio import QuartTrio

from vibed.http.context import context
from vibed.http.errors import ApiError
from vibed.vocab.edge_keys import EDGE_CACHE

blueprint = Blueprint("page", __name__)
ASSETS = {"app.js": "text/javascript; charset=utf-8", "push.js": "text/javascript; charset=utf-8",
          "follow.js": "text/javascript; charset=utf-8", "style.css": "text/css; charset=utf-8"}
PAGE_CSP = ("default-src 'self'; img-src 'self' https: data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
IMMUTABLE = "max-age=31536000, immutable"  # a versioned URL's bytes never change


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


@functools.cache
def asset_bytes(name: str) -> bytes:
    """A packaged file, read once: what is installed does not change under a running process."""
    return resources.files("vibed.http").joinpath(f"static/{name}").read_bytes()


def _digest(body: bytes) -> str:
    return hashlib.blake2b(body, digest_size=16).hexdigest()


@functools.cache
def versioned(name: str) -> str:
    """``app.js`` → ``app.<first 16 hex of the content hash>.js``."""
    stem, ext = name.rsplit(".", 1)
    return f"{stem}.{_digest(asset_bytes(name))[:16]}.{ext}"


def _asset_response(name: str, cache_control: str) -> Response:
    body = asset_bytes(name)
    response = Response(body, status=200, content_type=ASSETS[name])
    response.headers["ETag"] = f'"{_digest(body)}"'
    response.headers["Cache-Control"] = cache_control
    response.headers[EDGE_CACHE] = "1"
    return response


@blueprint.get("/static/<name>")
async def asset(name: str) -> Response:
    if name in ASSETS:  # a fixed list: no path from the request ever reaches the file system
        return _asset_response(name, "no-cache")
    for plain in ASSETS:
        if name == versioned(plain):
            return _asset_response(plain, IMMUTABLE)
    raise ApiError(404, "not_found", f"no asset {name!r} (this page's assets: "
                                     f"{', '.join(versioned(n) for n in ASSETS)})")


@blueprint.get("/")
async def index() -> Response:
    ctx = context()
    settings = ctx.settings()
    # a simulated catalogue's covers are made-up CDN addresses: the page draws them instead of asking a CDN
    text = asset_bytes("index.html").decode("utf-8").replace(
        "{{LANGUAGES}}", html.escape(",".join(settings.languages))).replace(
        "{{COVERS}}", "drawn" if settings.simulate else "upstream").replace(
        "{{CHECK}}", f"{2 * settings.heartbeat:g}")  # the page checks a silent stream every two heartbeats
    for name in ASSETS:
        text = text.replace(f"/static/{name}", f"/static/{versioned(name)}")
    body = text.encode("utf-8")
    response = Response(body, status=200, content_type="text/html; charset=utf-8")
    response.headers["Content-Security-Policy"] = PAGE_CSP
    response.headers["ETag"] = f'"{_digest(body)}"'
    response.headers["Cache-Control"] = "no-cache"  # browsers revalidate; the edge holds it for them
    response.headers[EDGE_CACHE] = "1"
    return response
