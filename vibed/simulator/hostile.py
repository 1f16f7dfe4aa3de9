"""A hostile upstream: the normal page plus items built to break a naive client.

``hostile`` adds, before the page's own items (a language's page, an artist's page or Spotify's), copies of its first ordinary item (on JioSaavn an
album or song in the page's language, not one of the playlists or other-language items the page
mixes in, which a client drops before any poison matters) with one poison each (ids
``hostile-<poison>-<n>``), so a test can tell them apart and check that every clean item is still
stored:

- ``nul``: NUL and control characters in the title, an artist name and a nested raw field;
- ``script_url``: ``javascript:`` page URL and a ``data:`` image;
- ``far_future``: released 2099-12-31 (year 2099);
- ``month`` (Spotify only): dated to a month long past, ``release_date_precision: month``;
- ``invisible``: a bidi override, zero-width and byte-order marks, isolates, U+FFFF and a line
  separator in the title (and an override in an artist's name), beside a Malayalam ZWJ that stays;
- ``double_entity`` (JioSaavn only): entities encoded twice (``&amp;quot;``);
- ``ancient``: released 0001-01-01;
- ``huge_number`` (JioSaavn only): a 30-digit play count (past PostgreSQL's bigint), a negative year;
- ``odd_digits``: dates and numbers in superscript and full-width digits (digits to
  ``str.isdigit``, not to ``int``);
- ``userinfo_url``: links and images of the form ``https://www.jiosaavn.com@evil.example/``;
- ``wrong_types``: a number for a title (JioSaavn), lists and objects where the other is expected;
- ``duplicate``: the same item (same id) twice on the page;
- ``bad_utf8``: two bytes that are not UTF-8 inside the title (the rest of the answer is);
- ``long_number``: a 5,000-digit JSON integer for a count (more digits than Python reads by default);
- ``markup``: a title of ``<script>`` and ``<b>`` (to be shown as text, escaped in every feed);
- ``http_image`` (Spotify only; JioSaavn's own quirk sends some): the cover over ``http://``;
- ``numeric_entity``: an artist named with the entities of a lone surrogate and a bidi override
  (``&#55296;&#8238;``; on JioSaavn under three more layers of ``&amp;``), which the artist index decodes.

``crosslisted`` puts one id on every page it breaks (each time in that page's language); ``flood`` makes
the page 5,000 items long (copies of its first ordinary item).  ``huge`` pads the answer to about 5 MB with an unknown field; ``gzip_bomb`` pads it to 64 MiB and
sends it gzip-compressed, about 64 KB on the wire.  (``drip``, in ``faults``, sends a
normal answer 64 bytes at a time.)
"""

from __future__ import annotations

import copy
import itertools
import json
import zlib
from collections import Counter
from collections.abc import Callable
from typing import Any

POISONS = ("nul", "script_url", "far_future", "month", "invisible", "double_entity", "ancient", "huge_number",
           "odd_digits", "userinfo_url", "wrong_types", "duplicate", "bad_utf8", "numeric_entity", "long_number",
           "http_image", "markup")
_ONLY = {"month": "spotify", "http_image": "spotify", "double_entity": "jiosaavn", "huge_number": "jiosaavn"}


def poisons_for(source: str) -> tuple[str, ...]:
    """The poisons ``hostile`` adds to ``source``'s pages (each one item, ``duplicate`` two of one id)."""
    return tuple(name for name in POISONS if _ONLY.get(name, source) == source)


INVISIBLE_TITLE = "Invisible\u202e Title\u200b\ufeff\u2066\u2069\uffff\u2028\u0d28\u0d4d\u200d"
_BAD_UTF8 = "@@BAD_UTF8@@"  # replaced by b"\xff\xfe" in the encoded answer
_LONG_NUMBER = "@@LONG_NUMBER@@"  # replaced (quotes and all) by 5,000 digits in the encoded answer
_serial = itertools.count(1)


def _poison_jiosaavn(item: dict[str, Any], poison: str) -> dict[str, Any] | None:
    more = item.setdefault("more_info", {})
    if poison == "nul":
        item["title"] = "Nul\x00Title\x07\x1b"
        more["note"] = "inside\x00raw"
        artists = more.get("artistMap", {}).get("primary_artists") or []
        if artists:
            artists[0]["name"] = "Art\x00ist"
    elif poison == "script_url":
        item["perma_url"] = "javascript:alert(document.cookie)"
        item["image"] = "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="
    elif poison == "far_future":
        more["release_date"] = "2099-12-31"
        item["year"] = "2099"
    elif poison in _COMMON:
        _COMMON[poison](item)
        artists = more.get("artistMap", {}).get("primary_artists") or []
        if poison == "invisible" and artists:
            artists[0]["name"] = "\u202e" + artists[0]["name"]
    elif poison == "double_entity":
        item["title"] = "Adi Alaye (From &amp;quot;Parasakthi&amp;quot;) &amp;amp; more"
    elif poison == "ancient":
        more["release_date"], item["year"] = "0001-01-01", ""
    elif poison == "huge_number":
        item["play_count"], item["year"] = "9" * 30, "-2024"
    elif poison == "odd_digits":
        item["year"], item["play_count"] = "\u00b2\u2070\u00b2\u2076", "\u00b9\u00b2\u00b3"
        more["release_date"] = "\uff12\uff10\uff12\uff16-\uff10\uff13-\uff10\uff11"
    elif poison == "userinfo_url":
        item["perma_url"] = "https://www.jiosaavn.com@evil.example/album/x"
        item["image"] = "https://c.saavncdn.com@evil.example/x-150x150.jpg"
    elif poison == "numeric_entity":
        artists = more.get("artistMap", {}).get("primary_artists") or []
        if artists:
            artists[0].update(id="9990001", name="&amp;amp;amp;#55296;&amp;amp;amp;#8238;Entity Artist")
    elif poison == "wrong_types":
        item.update(title=2024, image={"url": "https://c.saavncdn.com/x.jpg"}, year=["2024"],
                    play_count={"n": 1}, explicit_content=None, more_info=[])
    else:
        return None
    return item


def _poison_spotify(item: dict[str, Any], poison: str) -> dict[str, Any] | None:
    if poison == "nul":
        item["name"] = "Nul\x00Title\x07"
        item["label_note"] = "inside\x00raw"
    elif poison == "script_url":
        item["external_urls"] = {"spotify": "javascript:alert(1)"}
        item["images"] = [{"url": "data:image/svg+xml,<svg onload=alert(1)>", "height": 640, "width": 640}]
    elif poison == "far_future":
        item["release_date"], item["release_date_precision"] = "2099-12-31", "day"
    elif poison == "month":
        item["release_date"], item["release_date_precision"] = "2019-05", "month"
    elif poison in _COMMON:
        _COMMON[poison](item)
        if poison == "invisible" and item.get("artists"):
            item["artists"][0]["name"] = "\u202e" + item["artists"][0]["name"]
    elif poison == "ancient":
        item["release_date"], item["release_date_precision"] = "0001-01-01", "day"
    elif poison == "odd_digits":
        item["release_date"] = "\u00b2\u2070\u00b2\u2076-\u2070\u00b3-\u2070\u00b9"
        item["release_date_precision"] = "day"
    elif poison == "userinfo_url":
        item["external_urls"] = {"spotify": "https://open.spotify.com@evil.example/album/x"}
        item["images"] = [{"url": "https://i.scdn.co@evil.example/image/x", "height": 640, "width": 640}]
    elif poison == "http_image":
        item["images"] = [{"url": "http://i.scdn.co/image/ab67616d0000b273hostile", "height": 640, "width": 640}]
    elif poison == "numeric_entity":
        if item.get("artists"):
            item["artists"][0].update(id="hostileentity", name="&#55296;&#8238;Entity Artist")
    elif poison == "wrong_types":
        item.update(artists={"name": "Nobody"}, images="https://i.scdn.co/image/x", external_urls=[],
                    release_date=20260301, release_date_precision=None, total_tracks="12")
    else:
        return None
    return item


def _title(value: str) -> Callable[[dict[str, Any]], None]:
    def poison(item: dict[str, Any]) -> None:
        item["name" if "album_type" in item else "title"] = value
    return poison


# the same poison in either source's shape
def _long_number(item: dict[str, Any]) -> None:
    item["total_tracks" if "album_type" in item else "play_count"] = _LONG_NUMBER


MARKUP_TITLE = '<script>alert("x")</script> Tom & <b>Jerry</b>'
_COMMON: dict[str, Callable[[dict[str, Any]], None]] = {"invisible": _title(INVISIBLE_TITLE), "duplicate": lambda item: None,
           "markup": _title(MARKUP_TITLE),
           "bad_utf8": _title(f"Bad {_BAD_UTF8} Bytes"), "long_number": _long_number}


def _ordinary(items: list[Any]) -> Any:
    """The first album or song in the page's main language (the first item if there is none)."""
    languages = Counter(str(item.get("language", "")).casefold() for item in items if isinstance(item, dict))
    main = languages.most_common(1)[0][0] if languages else ""
    return next((item for item in items if isinstance(item, dict) and item.get("type") in ("album", "song")
                 and str(item.get("language", "")).casefold() == main), items[0])


def poison(body: bytes, source: str) -> bytes:
    """The page ``body`` with one hostile copy of its first item per poison."""
    page = json.loads(body)
    if source == "spotify":
        items = page.get("albums", {}).get("items")
    else:  # content.getAlbums, or an artist's page (artist.getArtistMoreAlbum)
        items = page.get("data") if "data" in page else page.get("topAlbums", {}).get("albums")
    if not items:
        return body
    serial = next(_serial)
    template = _ordinary(items) if source == "jiosaavn" else items[0]
    extra = []
    for name in POISONS:
        item = copy.deepcopy(template)
        item["id"] = f"hostile-{name}-{serial}"
        made = (_poison_jiosaavn if source == "jiosaavn" else _poison_spotify)(item, name)
        if made is not None:
            extra += [made, made] if name == "duplicate" else [made]
    items[:0] = extra
    return (json.dumps(page, ensure_ascii=False).encode().replace(_BAD_UTF8.encode(), b"\xff\xfe")
            .replace(f'"{_LONG_NUMBER}"'.encode(), b"9" * 5000))


def crosslisted(body: bytes) -> bytes:
    """A JioSaavn page with a copy of its first ordinary item under the fixed id ``crosslisted``, in the
    page's own language: every page and every language so broken carries the same id."""
    page = json.loads(body)
    items = page.get("data")
    if not items:
        return body
    items.insert(0, {**_ordinary(items), "id": "crosslisted"})
    return json.dumps(page, ensure_ascii=False).encode()


def flood(body: bytes, source: str, count: int = 5000) -> bytes:
    """The page with its first item copied until it holds ``count`` items (ids ``flood-<n>``)."""
    page = json.loads(body)
    items = page.get("data") if source == "jiosaavn" else page.get("albums", {}).get("items")
    if not items:
        return body
    template = _ordinary(items) if source == "jiosaavn" else items[0]
    items.extend({**template, "id": f"flood-{n}"} for n in range(count - len(items)))
    return json.dumps(page, ensure_ascii=False).encode()


def pad(body: bytes, size: int = 5 * 1024 * 1024) -> bytes:
    """The page with an unknown top-level field making it about ``size`` bytes."""
    page = json.loads(body)
    if isinstance(page, dict):
        page["padding"] = "x" * max(0, size - len(body))
    return json.dumps(page).encode()


def inflating(body: bytes, size: int = 64 * 1024 * 1024) -> bytes:
    """The page padded to ``size`` bytes as ``pad`` does, gzip-compressed without ever holding it whole."""
    page = json.loads(body)
    if not isinstance(page, dict):
        return body
    head, _, tail = json.dumps({**page, "padding": ""}).encode().rpartition(b'""')
    gzip = zlib.compressobj(9, zlib.DEFLATED, 31)  # wbits 31: the gzip container
    out = [gzip.compress(head + b'"')]
    chunk = b"x" * (1024 * 1024)
    for _ in range(max(0, size - len(body)) // len(chunk)):
        out.append(gzip.compress(chunk))
    out += [gzip.compress(b'"' + tail), gzip.flush()]
    return b"".join(out)
