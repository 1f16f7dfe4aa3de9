"""JioSaavn's per-artist call, ``artist.getArtistMoreAlbum``: an artist's albums, newest first.

    GET /api.php?__call=artist.getArtistMoreAlbum&artistId=4670197&page=0&sort_order=desc&category=latest

The answer is the artist's header fields and ``topAlbums: {"albums": [...], "total": N}``; each album
has the listing's shape (``jiosaavn_render.item``), quirks included.  As upstream: ``page`` is
0-based, the page size is fixed (``PAGE_SIZE``), ``total`` sometimes arrives as a string, the
artist's name can carry a leading space, and an unknown artist is an empty list, not an error.
"""

from __future__ import annotations

from typing import Any

from vibed.simulator import jiosaavn_render
from vibed.simulator.generate import SimRelease

PAGE_SIZE = 10  # fixed upstream; the call takes no page size
CATEGORIES = ("latest", "popularity", "alphabetical")


def ordered(releases: list[SimRelease], category: str, sort_order: str) -> list[SimRelease]:
    """``releases`` come newest first; the other categories sort as their names say."""
    if category == "alphabetical":
        releases = sorted(releases, key=lambda rel: rel.title.casefold())
    elif category == "popularity":
        releases = sorted(releases, key=lambda rel: rel.play_count or 0, reverse=True)
    return list(reversed(releases)) if sort_order == "asc" else releases


def page_body(artist_id: str, releases: list[SimRelease], page: int, *, seed: int) -> dict[str, Any]:
    """Page ``page`` (0-based) of ``releases`` (already in the asked order) as the site answers it."""
    name = next((a.name for rel in releases for a in rel.primary + rel.featured if a.id == artist_id), "")
    chosen = releases[page * PAGE_SIZE:(page + 1) * PAGE_SIZE]
    shuffled = jiosaavn_render.shuffled_page(chosen, seed, f"artist:{artist_id}", page)
    total = len(releases)
    number = int(artist_id) if artist_id.isdigit() else 0
    return {
        "artistId": artist_id,
        "name": (" " if number % 3 == 0 else "") + jiosaavn_render.entities(name, page % 2 == 0),
        "subtitle": "",
        "image": f"http://c.saavncdn.com/artists/{jiosaavn_render.slug(name).title()}-150x150.jpg" if name else "",
        "follower_count": str(1000 + number % 90_000) if name else "",
        "type": "artist",
        "isVerified": bool(name),
        "dominantLanguage": "hindi",
        "dominantType": "singer",
        "topAlbums": {
            "albums": [jiosaavn_render.item(rel) for rel in shuffled],
            "total": str(total) if number % 2 == 0 else total,  # sometimes a string, as seen
        },
    }
