"""JioSaavn items -> ``Release``: undo every quirk listed in shared/UPSTREAM.md, one helper per quirk."""

from __future__ import annotations

import datetime as dt
import html
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from vibed.sources.bounds import bounded
from vibed.sources.firewall import clean_raw, clean_text, count, plausible_date, plausible_year, safe_url
from vibed.vocab.languages import code_for_name
from vibed.vocab.messages import KINDS, Artist, Release

_SMALL_SIZE = re.compile(r"-(?:150x150|50x50)(\.[A-Za-z0-9]+)$")
_ENCODED_MAX = 3  # layers of entities undone: seen twice (``&amp;quot;``); a fourth is a literal "&..."


def text(value: Any) -> str:
    """Entities decoded (encoded inconsistently upstream, sometimes twice: ``&amp;quot;``) and
    surrounding spaces gone; non-text -> ""."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return ""
    for _ in range(_ENCODED_MAX):
        if "&" not in value:
            break
        value, before = html.unescape(value), value
        if value == before:
            break
    return clean_text(value)


def optional_text(value: Any) -> str | None:
    return text(value) or None


def number(value: Any) -> int | None:
    """Numbers arrive as strings; ``""`` (missing), garbage, negatives and numbers past bigint -> None."""
    try:
        return count(int(text(value).replace(",", "")))
    except ValueError:
        return None


def flag(value: Any) -> bool | None:
    """``"1"``/``"0"`` (and real booleans) -> bool; anything else -> None."""
    if isinstance(value, bool):
        return value
    return {"1": True, "0": False, "true": True, "false": False}.get(text(value).lower())


def date(value: Any) -> dt.date | None:
    """An ISO day; None when absent, garbled or far in the future."""
    try:
        return plausible_date(dt.date.fromisoformat(text(value)))
    except ValueError:
        return None


def image(value: Any) -> str | None:
    """https and the 500x500 variant of ``-150x150``/``-50x50`` images; query (``?bch=``) kept as is.

    Only web URLs: ``javascript:``, ``data:`` and the like become None."""
    url = safe_url(text(value)) or (safe_url("https:" + text(value)) if text(value).startswith("//") else None)
    if not url:
        return None
    parts = urlsplit(url)
    path = _SMALL_SIZE.sub(r"-500x500\1", parts.path)
    return urlunsplit(("https", parts.netloc, path, parts.query, parts.fragment))


def artists(artist_map: Any) -> tuple[Artist, ...]:
    """Primary, then featured, then the rest; an artist already seen by id or by name is dropped."""
    if not isinstance(artist_map, Mapping):
        return ()
    seen_ids: set[str] = set()
    seen_names: set[str] = set()
    found: list[Artist] = []
    for entry in _entries(artist_map, ("primary_artists", "featured_artists", "artists")):
        artist = Artist(id=text(entry.get("id")), name=text(entry.get("name")))
        if not artist.name or (artist.id and artist.id in seen_ids) or artist.name.casefold() in seen_names:
            continue
        found.append(artist)
        seen_names.add(artist.name.casefold())
        if artist.id:
            seen_ids.add(artist.id)
    return tuple(found)


def _entries(artist_map: Mapping[str, Any], keys: Iterable[str]) -> Iterable[Mapping[str, Any]]:
    for key in keys:
        group = artist_map.get(key)
        if isinstance(group, list):
            yield from (entry for entry in group if isinstance(entry, Mapping))


def release(item: Mapping[str, Any], *, language_code: str | None, language_name: str | None) -> Release | None:
    """One item as a Release, or None for what we do not keep: playlists, other languages, no id.

    ``language_name`` None (an artist's page): any language, the item's own (None when we have no code for it).
    """
    kind = text(item.get("type")).lower()
    external_id = text(item.get("id"))
    title = text(item.get("title"))
    if kind not in KINDS or not external_id or not title:
        return None
    if language_name is None:
        language_code = code_for_name(text(item.get("language")))
    elif text(item.get("language")).casefold() != language_name:
        return None  # the site mixes in other languages; the language filter is ours to enforce
    more = item.get("more_info")
    more = more if isinstance(more, Mapping) else {}
    released = date(more.get("release_date"))
    return bounded(Release(
        source="jiosaavn",
        external_id=external_id,
        kind=kind,
        title=title,
        artists=artists(more.get("artistMap")),
        album=optional_text(more.get("album")) if kind == "song" else None,
        language=language_code,
        release_date=released,
        year=plausible_year(number(item.get("year"))) or (released.year if released else None),
        image=image(item.get("image")),
        url=safe_url(text(item.get("perma_url"))),
        play_count=number(item.get("play_count")),
        explicit=flag(item.get("explicit_content")),
        raw=clean_raw(item),
    ))
