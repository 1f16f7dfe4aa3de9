"""Spotify album objects -> ``Release``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from vibed.messages import Artist, Release

ALBUM_TYPES = frozenset({"album", "single", "compilation"})  # all are "album" to us


def release(item: Any) -> Release | None:
    if not isinstance(item, Mapping) or not _str(item.get("id")) or not _str(item.get("name")):
        return None
    if _str(item.get("album_type")).lower() not in ALBUM_TYPES:
        return None
    released, year = release_date(_str(item.get("release_date")), _str(item.get("release_date_precision")))
    urls = item.get("external_urls")
    return Release(
        source="spotify",
        external_id=_str(item["id"]),
        kind="album",
        title=_str(item["name"]),
        artists=_artists(item.get("artists")),
        language=None,  # Spotify items carry no language; never invent one
        release_date=released,
        year=year,
        image=largest_image(item.get("images")),
        url=(_str(urls.get("spotify")) or None) if isinstance(urls, Mapping) else None,
        raw=item,
    )


def release_date(value: str, precision: str) -> tuple[dt.date | None, int | None]:
    """A date only at ``day`` precision (a month is not a day); the year whenever there is one."""
    year = int(value[:4]) if value[:4].isdigit() else None
    if precision not in ("", "day"):
        return None, year
    try:
        return dt.date.fromisoformat(value), year
    except ValueError:
        return None, year


def largest_image(images: Any) -> str | None:
    if not isinstance(images, list):
        return None
    sized = [
        ((image.get("width") or 0) * (image.get("height") or 0), _str(image.get("url")))
        for image in images
        if isinstance(image, Mapping) and _str(image.get("url"))
    ]
    return max(sized, key=lambda pair: pair[0])[1] if sized else None


def _artists(entries: Any) -> tuple[Artist, ...]:
    found: dict[str, Artist] = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, Mapping) and _str(entry.get("name")):
            artist = Artist(id=_str(entry.get("id")), name=_str(entry.get("name")))
            found.setdefault(artist.id or artist.name, artist)
    return tuple(found.values())


def _str(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""
