"""SimRelease -> a Spotify simplified album object, and the ``browse/new-releases`` body."""

from __future__ import annotations

import hashlib
import random
from typing import Any
from urllib.parse import urlencode

from vibed.simulator.generate import SimArtist, SimRelease

ALBUM_TYPES = {"album": "album", "song": "single", "playlist": "compilation"}
KINDS_BY_ALBUM_TYPE = {v: k for k, v in ALBUM_TYPES.items()}


def spotify_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:22]


def precision(rel: SimRelease) -> str:
    return {3: "year", 6: "month"}.get(rel.index % 10, "day")


def release_date(rel: SimRelease) -> str:
    return rel.release_date.strftime({"year": "%Y", "month": "%Y-%m", "day": "%Y-%m-%d"}[precision(rel)])


def _artist(artist: SimArtist) -> dict[str, Any]:
    artist_id = spotify_id(artist.name)
    return {
        "external_urls": {"spotify": f"https://open.spotify.com/artist/{artist_id}"},
        "href": f"https://api.spotify.com/v1/artists/{artist_id}",
        "id": artist_id, "name": artist.name, "type": "artist", "uri": f"spotify:artist:{artist_id}",
    }


def album(rel: SimRelease) -> dict[str, Any]:
    rng = random.Random(f"image:{rel.scope}:{rel.index}:{rel.id}")
    sizes = [300, 640, 64]
    rng.shuffle(sizes)  # not always largest first: clients must pick the largest themselves
    return {
        "album_type": ALBUM_TYPES[rel.kind],
        "total_tracks": 1 if rel.kind == "song" else 4 + rel.index % 9,
        "is_playable": True,
        "external_urls": {"spotify": f"https://open.spotify.com/album/{rel.id}"},
        "href": f"https://api.spotify.com/v1/albums/{rel.id}",
        "id": rel.id,
        "images": [
            {"url": f"https://i.scdn.co/image/{spotify_id(f'{rel.id}:{size}')}", "height": size, "width": size}
            for size in sizes
        ],
        "name": rel.title,
        "release_date": release_date(rel),
        "release_date_precision": precision(rel),
        "type": "album",
        "uri": f"spotify:album:{rel.id}",
        "artists": [_artist(a) for a in rel.primary + rel.featured],
    }


def new_releases(
    releases: list[SimRelease], *, total: int, offset: int, limit: int, market: str, base_url: str,
) -> dict[str, Any]:
    def link(at: int) -> str:
        return f"{base_url}/v1/browse/new-releases?{urlencode({'country': market, 'offset': at, 'limit': limit})}"

    return {
        "albums": {
            "href": link(offset),
            "items": [album(rel) for rel in releases],
            "limit": limit,
            "next": link(offset + limit) if offset + limit < total else None,
            "offset": offset,
            "previous": link(max(0, offset - limit)) if offset > 0 else None,
            "total": total,
        }
    }


def expected(rel: SimRelease) -> dict[str, Any]:
    """The release as a faithful client normalises it (what /_sim/catalogue?market= shows)."""
    largest = spotify_id(f"{rel.id}:640")
    return {
        "id": rel.id, "kind": "album", "album_type": ALBUM_TYPES[rel.kind], "title": rel.title,
        "artists": [{"id": spotify_id(a.name), "name": a.name} for a in rel.primary + rel.featured],
        "release_date": rel.release_date.isoformat() if precision(rel) == "day" else None,
        "year": rel.release_date.year, "image": f"https://i.scdn.co/image/{largest}",
        "url": f"https://open.spotify.com/album/{rel.id}", "index": rel.index,
    }
