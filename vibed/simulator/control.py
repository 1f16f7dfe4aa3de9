"""``/_sim/*``: what tests and demos use to grow the catalogue, inject faults and read counters."""

from __future__ import annotations

from typing import Any

import trio
from quart import request
from quart_trio import QuartTrio

from vibed.simulator import jiosaavn_render, spotify_render
from vibed.simulator.generate import SimArtist, SimRelease, artist_named, is_market
from vibed.simulator.settings import Fault
from vibed.simulator.state import SimState

Reply = tuple[dict[str, Any], int]
KINDS = {"album": "album", "song": "song", "playlist": "playlist", **spotify_render.KINDS_BY_ALBUM_TYPE}


def expected(rel: SimRelease) -> dict[str, Any]:
    return spotify_render.expected(rel) if is_market(rel.scope) else jiosaavn_render.expected(rel)


def _scope(body: dict[str, Any]) -> str:
    if body.get("market"):
        return str(body["market"]).upper()
    return str(body.get("language") or "ml").lower()


async def _json_object() -> dict[str, Any]:
    body = await request.get_json(force=True, silent=True)
    return body if isinstance(body, dict) else {}


def add_control_routes(app: QuartTrio, state: SimState) -> None:
    @app.post("/_sim/release")
    async def release() -> Reply:
        """``{"language": "ml" | "market": "IN", "kind": "album", "title": "...", "count": 3,
        "artists": ["Name", ...]}``, all optional; the release is exactly that (its language, those artists)."""
        body = await _json_object()
        kind = KINDS.get(str(body.get("kind") or "album"))
        count = body.get("count", 1)
        if kind is None or not isinstance(count, int) or not 1 <= count <= 1000:
            return {"error": "kind must be album, song or playlist and count 1..1000"}, 400
        names = body.get("artists")
        if names is not None and (not isinstance(names, list) or not 1 <= len(names) <= 10
                                  or not all(isinstance(n, str) and n.strip() for n in names)):
            return {"error": 'artists must be a list of 1..10 names, e.g. ["Sid Sriram"]'}, 400
        artists: tuple[SimArtist, ...] | None = tuple(artist_named(n.strip()) for n in names) if names else None
        title = body.get("title")
        added = state.catalogue.add(
            _scope(body), trio.current_time(), count=count, kind=kind, title=str(title) if title else None,
            artists=artists,
        )
        return {"releases": [expected(rel) for rel in added]}, 201

    @app.get("/_sim/catalogue")
    async def catalogue() -> Reply:
        scope = _scope(dict(request.args))
        releases = state.catalogue.newest_first(scope, trio.current_time())
        return {"scope": scope, "count": len(releases), "releases": [expected(rel) for rel in releases]}, 200

    @app.post("/_sim/faults")
    async def add_faults() -> Reply:
        """One fault object or a list of them; see ``Fault``."""
        body = await request.get_json(force=True, silent=True)
        entries = body if isinstance(body, list) else [body]
        try:
            faults = [Fault.from_json(entry) for entry in entries if isinstance(entry, dict)]
        except ValueError as exc:
            return {"error": str(exc)}, 400
        if not faults:
            return {"error": 'expected a JSON fault such as {"kind": "status_429", "language": "ml"}'}, 400
        for fault in faults:
            state.faults.add(fault)
        return {"faults": state.faults.active()}, 201

    @app.get("/_sim/faults")
    async def list_faults() -> Reply:
        return {"faults": state.faults.active()}, 200

    @app.delete("/_sim/faults")
    async def clear_faults() -> Reply:
        state.faults.clear()
        return {"faults": []}, 200

    @app.get("/_sim/stats")
    async def stats() -> Reply:
        return state.stats.snapshot(), 200

    @app.post("/_sim/stats/reset")
    async def reset_stats() -> Reply:
        state.stats.reset()
        return state.stats.snapshot(), 200

    @app.post("/_sim/spotify/revoke")
    async def revoke_tokens() -> Reply:
        """Expire every issued token now, as if Spotify had (the client sees 401 on its next call)."""
        revoked = len(state.tokens)
        state.tokens.clear()
        return {"revoked": revoked}, 200
