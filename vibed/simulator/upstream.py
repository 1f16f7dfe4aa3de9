"""The upstream endpoints: JioSaavn's ``api.php`` and Spotify's token and new-releases, quirks and faults."""

from __future__ import annotations

import base64
import binascii
import secrets
from collections.abc import AsyncIterator

import trio
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from vibed.simulator import jiosaavn_artist, jiosaavn_render, spotify_render
from vibed.simulator.faults import Canned
from vibed.simulator.state import SimState, json_body, json_canned
from vibed.vocab.languages import code_for_name


def to_response(canned: Canned) -> Response:
    headers = Headers(list(canned.headers))  # a header may come more than once (Set-Cookie)
    if canned.drip:
        return Response(_dripping(canned.body, canned.drip), status=canned.status,
                        content_type=canned.content_type, headers=headers)
    return Response(canned.body, status=canned.status, content_type=canned.content_type, headers=headers)


async def _dripping(body: bytes, every: float) -> AsyncIterator[bytes]:
    """The body 64 bytes at a time, one chunk every ``every`` seconds: a connection that never stalls
    long enough for a per-read timeout, yet takes minutes in total."""
    for start in range(0, len(body), 64):
        yield body[start:start + 64]
        await trio.sleep(every)


def _int(value: str | None, default: int, low: int, high: int) -> int:
    try:
        return min(high, max(low, int(value or default)))
    except ValueError:
        return default


def add_upstream_routes(app: QuartTrio, state: SimState) -> None:
    settings = state.settings

    @app.get("/api.php")
    async def jiosaavn() -> Response:
        if request.args.get("__call") == "artist.getArtistMoreAlbum":
            return _with_geo_cookie(await artist_albums())
        if request.args.get("__call") != "content.getAlbums":
            body = {"status": "failure", "error": {"code": "INVALID_CALL", "msg": "Unknown __call"}}
            return _with_geo_cookie(to_response(json_canned(body)))
        name = _language_name(request.args.get("languages"), request.cookies.get("L"), state)
        code = code_for_name(name)
        page, size = _int(request.args.get("p"), 1, 1, 10_000), _int(request.args.get("n"), 50, 1, 100)
        state.stats.jiosaavn_request(code or name, page, trio.current_time())

        def normal() -> bytes:
            if code is None:  # a language the site does not know: nothing, silently
                return json_body({"count": 0, "last_page": True, "data": []})
            releases, total = state.catalogue.page(code, trio.current_time(), page, size)
            shuffled = jiosaavn_render.shuffled_page(releases, settings.seed, code, page)
            return json_body({
                "count": total, "last_page": page * size >= total,
                "data": [jiosaavn_render.item(rel) for rel in shuffled],
            })

        fault = state.faults.take("jiosaavn", code or name)
        canned = await state.faults.respond(fault, "jiosaavn", normal) if fault else Canned(200, normal())
        return _with_geo_cookie(to_response(canned))

    async def artist_albums() -> Response:
        artist_id = (request.args.get("artistId") or "").strip()
        page = _int(request.args.get("page"), 0, 0, 10_000)
        scope = f"artist:{artist_id}"
        state.stats.jiosaavn_request(scope, page + 1, trio.current_time())

        def normal() -> bytes:
            releases = jiosaavn_artist.ordered(state.catalogue.by_artist(artist_id, trio.current_time()),
                                               request.args.get("category") or "popularity",
                                               request.args.get("sort_order") or "desc")
            return json_body(jiosaavn_artist.page_body(artist_id, releases, page, seed=settings.seed))

        fault = state.faults.take("jiosaavn", scope)
        canned = await state.faults.respond(fault, "jiosaavn", normal,
                                            empty={"topAlbums": {"albums": [], "total": 0}}) if fault else None
        return to_response(canned or Canned(200, normal()))

    @app.post("/api/token")
    async def spotify_token() -> Response:
        state.stats.spotify_token += 1
        form = await request.form
        if form.get("grant_type") != "client_credentials":
            body = {"error": "unsupported_grant_type", "error_description": "grant_type must be client_credentials"}
            return to_response(json_canned(body, 400))
        if _basic_credentials(request.headers.get("Authorization", "")) != (
            settings.spotify_client_id, settings.spotify_client_secret,
        ):
            return to_response(json_canned({"error": "invalid_client", "error_description": "Invalid client"}, 401))

        def issued() -> bytes:
            state.tokens_issued += 1
            token = f"sim-{state.tokens_issued}-{secrets.token_urlsafe(12)}"
            state.tokens[token] = trio.current_time() + settings.token_expires_in
            return json_body({"access_token": token, "token_type": "Bearer", "expires_in": settings.token_expires_in})

        fault = state.faults.take("spotify", "token", named_only=True)  # {"source": "spotify", "scope": "token"}
        return to_response(await state.faults.respond(fault, "spotify", issued) if fault else Canned(200, issued()))

    @app.get("/v1/browse/new-releases")
    async def spotify_new_releases() -> Response:
        market = (request.args.get("country") or settings.default_market).upper()
        state.stats.spotify_new_releases[market] += 1
        auth = request.headers.get("Authorization", "")
        expires = state.tokens.get(auth.removeprefix("Bearer ").strip()) if auth.startswith("Bearer ") else None
        if expires is None or expires <= trio.current_time():
            message = "Invalid access token" if expires is None else "The access token expired"
            return to_response(json_canned({"error": {"status": 401, "message": message}}, 401))
        limit = _int(request.args.get("limit"), 20, 1, 50)
        offset = _int(request.args.get("offset"), 0, 0, 100_000)
        base_url = request.host_url.rstrip("/")

        def normal() -> bytes:
            newest = state.catalogue.newest_first(market, trio.current_time())
            body = spotify_render.new_releases(
                newest[offset:offset + limit], total=len(newest), offset=offset, limit=limit,
                market=market, base_url=base_url,
            )
            return json_body(body)

        fault = state.faults.take("spotify", market)
        canned = await state.faults.respond(fault, "spotify", normal) if fault else Canned(200, normal())
        return to_response(canned)


def _language_name(param: str | None, cookie: str | None, state: SimState) -> str:
    """``?languages=`` else the ``L`` cookie else hindi; like the site, a contradicting cookie wins."""
    param, cookie = (param or "").strip().lower(), (cookie or "").strip().lower()
    if param and cookie and param != cookie:
        state.stats.cookie_overrides += 1
        return cookie if state.settings.cookie_overrides_language else param
    return param or cookie or "hindi"


def _with_geo_cookie(response: Response) -> Response:
    # The site geolocates and sets the language cookie on every answer: a client whose cookie jar
    # sends it back would silently get Hindi (the cookie-jar trap).
    response.set_cookie("L", "hindi", path="/")
    return response


def _basic_credentials(header: str) -> tuple[str, str] | None:
    if not header.startswith("Basic "):
        return None
    try:
        user, _, password = base64.b64decode(header[6:].strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return user, password
