"""How much of an upstream item may be stored: length caps on every text field and on the raw item.

``firewall`` makes a value safe; this makes it small.  An upstream that sends a 200,000-character
title or an item with 20,000 keys would otherwise have it stored, replayed to every stream and
served by every listing.  One rule for every source, applied by ``bounded`` as the last step of
turning an item into a ``Release``:

- text (title, album, each artist's name and id) longer than ``TEXT_MAX`` is **cut** to it;
- artists past ``ARTISTS_MAX``, URLs longer than ``URL_MAX`` (dropped), raw mappings past
  ``RAW_KEYS`` keys and raw lists past ``RAW_ITEMS`` items are **cut** (the first ones kept);
- an ``external_id`` longer than ``ID_MAX`` cannot be cut (two items would become one): the item
  is **skipped**.

Each cut or skip is one ``release_capped`` log line naming the item and what was cut, and why.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vibed.logs import get_logger
from vibed.vocab.messages import Artist, Release

log = get_logger("vibed.sources")

TEXT_MAX = 1000  # characters: the longest real titles are a few hundred
ID_MAX = 200  # characters: upstream ids are 8-40
ARTISTS_MAX = 100
URL_MAX = 2000
RAW_KEYS = 200  # keys of one mapping inside ``raw``: real items have 10-40
RAW_ITEMS = 500  # items of one list inside ``raw``: Spotify's available_markets has ~185


def _text(value: str, field: str, cuts: list[str]) -> str:
    if len(value) <= TEXT_MAX:
        return value
    cuts.append(f"{field}: {len(value)} characters, cut to {TEXT_MAX}")
    return value[:TEXT_MAX]


def _url(value: str | None, field: str, cuts: list[str]) -> str | None:
    if value is None or len(value) <= URL_MAX:
        return value
    cuts.append(f"{field}: {len(value)} characters, dropped (most {URL_MAX})")
    return None


def _raw(value: Any, path: str, cuts: list[str]) -> Any:
    if isinstance(value, Mapping):
        if len(value) > RAW_KEYS:
            cuts.append(f"{path}: {len(value)} keys, cut to {RAW_KEYS}")
        return {k: _raw(v, f"{path}.{k}"[:80], cuts) for k, v in list(value.items())[:RAW_KEYS]}
    if isinstance(value, list):
        if len(value) > RAW_ITEMS:
            cuts.append(f"{path}: {len(value)} items, cut to {RAW_ITEMS}")
        return [_raw(v, f"{path}[]", cuts) for v in value[:RAW_ITEMS]]
    return value


def bounded(release: Release) -> Release | None:
    """``release`` within the caps (cut where needed), or None when it must be skipped; logged."""
    if len(release.external_id) > ID_MAX:
        log.warning("release_capped", source=release.source, external_id=release.external_id[:40] + "…",
                    action="skipped", reason=f"external_id: {len(release.external_id)} characters "
                                             f"(most {ID_MAX}); an id cannot be cut")
        return None
    cuts: list[str] = []
    if len(release.artists) > ARTISTS_MAX:
        cuts.append(f"artists: {len(release.artists)}, cut to {ARTISTS_MAX}")
    artists = tuple(Artist(_text(a.id, "artist id", cuts), _text(a.name, "artist name", cuts))
                    for a in release.artists[:ARTISTS_MAX])
    capped = attrs.evolve(
        release, title=_text(release.title, "title", cuts), artists=artists,
        album=None if release.album is None else _text(release.album, "album", cuts),
        url=_url(release.url, "url", cuts), image=_url(release.image, "image", cuts),
        raw=_raw(release.raw, "raw", cuts))
    if cuts:
        log.warning("release_capped", source=release.source, external_id=release.external_id, action="cut",
                    reason="; ".join(dict.fromkeys(cuts))[:500])
    return capped
