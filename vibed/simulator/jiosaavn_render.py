"""SimRelease -> a JioSaavn ``content.getAlbums`` item, with every quirk of shared/UPSTREAM.md.

``expected`` is the same release as a faithful client should normalise it (served by /_sim/catalogue).
"""

from __future__ import annotations

import random
import re
from typing import Any

from vibed.simulator.generate import SimArtist, SimRelease
from vibed.vocab.languages import LANGUAGES


def entities(value: str, encode: bool) -> str:
    """The site's inconsistent encoding: some items encode ``& " '``, others send them raw."""
    if not encode:
        return value
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("'", "&#039;")


def slug(value: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", value.lower()).strip("-") or "untitled"


def image_parts(rel: SimRelease) -> tuple[str, str, bool, str]:
    """(scheme, host and path without size suffix, editorial?, query) of the item's image."""
    rng = random.Random(f"image:{rel.scope}:{rel.index}:{rel.id}")
    stamp = rel.release_date.strftime("%Y%m%d") + f"{rng.randrange(10**6):06d}"
    editorial = rel.kind == "playlist" or rel.index % 13 == 6  # editorial images have no size suffix
    if editorial:
        stem = f"c.saavncdn.com/editorial/{slug(rel.title).title()}_{stamp}"
    else:
        name = LANGUAGES.get(rel.language or "", "Unknown").title()
        stem = f"c.saavncdn.com/{rng.randrange(100, 1000)}/{slug(rel.title).title()}-{name}-{rel.release_date.year}-{stamp}"
    scheme = "http" if rel.index % 7 == 0 else "https"
    query = f"?bch={rng.randrange(10**9, 10**10)}" if rel.index % 7 == 3 else ""
    return scheme, stem, editorial, query


def perma_url(rel: SimRelease) -> str:
    kind = "featured" if rel.kind == "playlist" else rel.kind
    return f"https://www.jiosaavn.com/{kind}/{slug(rel.title)}/{rel.id[::-1]}"


def item(rel: SimRelease) -> dict[str, Any]:
    encode = (rel.index // 4) % 2 == 0
    scheme, stem, editorial, query = image_parts(rel)
    more: dict[str, Any] = {"release_date": rel.release_date.isoformat(), "artistMap": _artist_map(rel, encode)}
    if rel.kind == "song":
        more.update(
            album_id=rel.album_id, album=entities(rel.album or "", encode), duration=str(150 + rel.index % 200),
            album_url=f"https://www.jiosaavn.com/album/{slug(rel.album or '')}/{rel.album_id}",
            label=rel.label, copyright_text=f"&copy; {rel.release_date.year} {rel.label}",
        )
    else:
        more.update(song_count="0", copyright_text=f"&copy; {rel.release_date.year} {rel.label}")
    return {
        "id": rel.id,
        "title": entities(rel.title, encode),
        "subtitle": entities(", ".join(a.name for a in rel.primary), encode),
        "header_desc": "",
        "type": rel.kind,
        "perma_url": perma_url(rel),
        "image": f"{scheme}://{stem}{'' if editorial else '-150x150'}.jpg{query}",
        "language": LANGUAGES.get(rel.language or "", ""),
        "year": "" if rel.index % 11 == 7 else str(rel.release_date.year),
        "play_count": "" if rel.play_count is None else str(rel.play_count),
        "explicit_content": "1" if rel.explicit else "0",
        "list_count": "0",
        "list_type": "",
        "list": "",
        "more_info": more,
    }


def _artist_map(rel: SimRelease, encode: bool) -> dict[str, list[dict[str, str]]]:
    def entry(artist: SimArtist, role: str, pad: bool = False) -> dict[str, str]:
        space = " " if pad else ""  # leading spaces seen in real ids and names
        return {
            "id": space + artist.id, "name": space + entities(artist.name, encode), "role": role,
            "image": "", "type": "artist",
            "perma_url": f"https://www.jiosaavn.com/artist/{slug(artist.name)}-songs/{artist.id}",
        }

    pad = rel.index % 5 == 2
    primary = [entry(a, "primary_artists", pad and i == 0) for i, a in enumerate(rel.primary)]
    if rel.index % 4 == 0:
        primary.append(entry(rel.primary[0], "primary_artists"))  # the same artist twice
    return {
        "primary_artists": primary,
        "featured_artists": [entry(a, "featured_artists") for a in rel.featured],
        # everyone again, as the site does: the usual source of duplicates
        "artists": [entry(a, "singer") for a in rel.primary + rel.featured] + [entry(a, "music") for a in rel.others],
    }


def shuffled_page(releases: list[SimRelease], seed: int, scope: str, page: int) -> list[SimRelease]:
    """Newest-first overall, but not sorted inside a page: swap some neighbours, deterministically."""
    rng = random.Random(f"{seed}:shuffle:{scope}:{page}")
    out = list(releases)
    for i in range(0, len(out) - 1, 2):
        if rng.random() < 0.5:
            out[i], out[i + 1] = out[i + 1], out[i]
    return out


def expected(rel: SimRelease) -> dict[str, Any]:
    """The release as a faithful client normalises it (what /_sim/catalogue shows to tests)."""
    _, stem, editorial, query = image_parts(rel)
    return {
        "id": rel.id, "kind": rel.kind, "title": rel.title, "language": rel.language,
        "artists": [{"id": a.id, "name": a.name} for a in rel.artists],
        "album": rel.album, "release_date": rel.release_date.isoformat(), "year": rel.release_date.year,
        "image": f"https://{stem}{'' if editorial else '-500x500'}.jpg{query}", "url": perma_url(rel),
        "play_count": rel.play_count, "explicit": rel.explicit, "index": rel.index,
    }
