"""JioSaavn's per-artist call (``artist.getArtistMoreAlbum``, newest first), as Pages and Failures.

A followed artist is polled like a language, as the scope ``artist:<JioSaavn artist id>``.  Its
albums come in any language and keep their own (``jiosaavn_items.release`` with no language), so
an artist releasing outside the watched languages is found too.  Upstream pages are 0-based and
of a fixed size; ours are 1-based like every other scope's.  The same quirks and the same failure
shapes as ``content.getAlbums`` (errors with HTTP 200, HTML from a blocked network).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import httpx

from vibed.sources import jiosaavn_items
from vibed.sources.http import BROWSER_USER_AGENT, Trouble
from vibed.sources.item_guard import releases_of
from vibed.vocab.messages import FailureKind, Page

CALL = "artist.getArtistMoreAlbum"


def request(client: httpx.AsyncClient, base_url: str, artist_id: str, page: int, timeout: float) -> httpx.Request:
    """Page ``page`` (1-based) of the artist's latest albums."""
    built = client.build_request(
        "GET", f"{base_url}/api.php",
        params={"__call": CALL, "_format": "json", "_marker": "0", "api_version": "4", "ctx": "web6dot0",
                "artistId": artist_id, "page": str(page - 1), "sort_order": "desc", "category": "latest"},
        headers={"User-Agent": BROWSER_USER_AGENT, "Referer": "https://www.jiosaavn.com/",
                 "Accept": "application/json, text/plain, */*"},
        timeout=timeout)
    # the L cookie only labels the page here; set per request all the same, never from a jar
    built.headers["Cookie"] = "L=english; gdpr_acceptance=true; DL=english"
    return built


def albums(body: Mapping[str, Any]) -> list[Any] | Trouble:
    top = body.get("topAlbums")
    found = top.get("albums") if isinstance(top, Mapping) else None
    if not isinstance(found, list):
        return Trouble(FailureKind.UPSTREAM_ERROR, "JioSaavn sent an artist page without topAlbums.albums",
                       status=200)
    return found


def page(body: Mapping[str, Any], scope: str, number: int) -> Page | Trouble:
    """The artist's page as releases (albums and songs, any language), or what is wrong with it."""
    found = albums(body)
    if isinstance(found, Trouble):
        return found
    items = [item for item in found if isinstance(item, Mapping)]
    releases = releases_of("jiosaavn", items, partial(jiosaavn_items.release, language_code=None, language_name=None))
    top = body["topAlbums"]
    total = jiosaavn_items.number(top.get("total"))  # a string or a number
    # the page size is upstream's and fixed: every page but the last is as long as this one
    last = not found or (total is not None and number * len(found) >= total)
    return Page(source="jiosaavn", scope=scope, page=number, releases=releases,
                last_page=last, total=total, received=len(found))
