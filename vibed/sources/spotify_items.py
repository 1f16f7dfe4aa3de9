"""Spotify album objects -> ``Release``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from vibed.sources.bounds import bounded
from vibed.sources.firewall import (
    clean_raw,
    clean_text,
    https_image,
    plausible_date,
    plausible_year,
    safe_url,
)
from vibed.vocab.messages import Artist, Release

ALBUM_TYPES = frozenset({"album", "single", "compilation"})  # all are "album" to us


def release(item: Any) -> Release | None:
    if not isinstance(item, Mapping) or not _str(item.get("id")) or not _str(item.get("name")):
        return None
    if _str(item.get("album_type")).lower() not in ALBUM_TYPES:
        return None
    released, year, period = release_date(_str(item.get("release_date")), _str(item.get("release_date_precision")))
    urls = item.get("external_urls")
    return bounded(Release(
        source="spotify",
        external_id=_str(item["id"]),
        kind="album",
        title=_str(item["name"]),
        artists=_artists(item.get("artists")),
        language=None,  # Spotify items carry no language; never invent one
        release_date=released,
        year=year,
        period=period,
        image=largest_image(item.get("images")),
        url=safe_url(_str(urls.get("spotify"))) if isinstance(urls, Mapping) else None,
        raw=clean_raw(item),
    ))


def release_date(value: str, precision: str) -> tuple[dt.date | None, int | None, str | None]:
    """(date, year, period): a date only at ``day`` precision (a month is not a day); at month or
    year precision the period instead (``"2026-03"``, ``"2026"``); the year whenever there is one.
    Far-future values mean nothing and are dropped; so do digits other than ASCII ones (``"²⁰²⁶"`` is
    a digit to ``str.isdigit`` and not a number to ``int``)."""
    value = value if value.isascii() else ""
    year = plausible_year(int(value[:4])) if value[:4].isdigit() else None
    if year is None:
        return None, None, None
    if precision == "year" or (precision == "" and len(value) == 4):
        return None, year, f"{year:04d}"
    if precision == "month":
        month = value[5:7]
        valid = len(value) >= 7 and month.isdigit() and 1 <= int(month) <= 12
        return None, year, f"{year:04d}-{month}" if valid else f"{year:04d}"
    try:
        day = plausible_date(dt.date.fromisoformat(value))
    except ValueError:
        return None, year, None
    return day, year if day is not None else None, None


def largest_image(images: Any) -> str | None:
    if not isinstance(images, list):
        return None
    sized = [
        (_size(image.get("width")) * _size(image.get("height")), https_image(_str(image.get("url"))))
        for image in images
        if isinstance(image, Mapping) and safe_url(_str(image.get("url")))
    ]
    return max(sized, key=lambda pair: pair[0])[1] if sized else None


def _artists(entries: Any) -> tuple[Artist, ...]:
    found: dict[str, Artist] = {}
    for entry in entries if isinstance(entries, list) else ():
        if isinstance(entry, Mapping) and _str(entry.get("name")):
            artist = Artist(id=_str(entry.get("id")), name=_str(entry.get("name")))
            found.setdefault(artist.id or artist.name, artist)
    return tuple(found.values())


def _size(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 100_000 else 0


def _str(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else ""
