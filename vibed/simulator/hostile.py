"""A hostile upstream: the normal page plus items built to break a naive client.

``hostile`` adds, before the page's own items, copies of its first ordinary item (on JioSaavn an
album or song in the page's language, not one of the playlists or other-language items the page
mixes in, which a client drops before any poison matters) with one poison each (ids
``hostile-<poison>-<n>``), so a test can tell them apart and check that every clean item is still
stored:

- ``nul``: NUL and control characters in the title, an artist name and a nested raw field;
- ``script_url``: ``javascript:`` page URL and a ``data:`` image;
- ``far_future``: released 2099-12-31 (year 2099);
- ``month`` (Spotify only): dated to a month long past, ``release_date_precision: month``.

``huge`` pads the answer to about 5 MB with an unknown field; ``gzip_bomb`` pads it to 64 MiB and
sends it gzip-compressed, about 64 KB on the wire.  (``drip``, in ``faults``, sends a
normal answer 64 bytes at a time.)
"""

from __future__ import annotations

import copy
import itertools
import json
import zlib
from collections import Counter
from typing import Any

POISONS = ("nul", "script_url", "far_future", "month")
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
    return item


def _ordinary(items: list[Any]) -> Any:
    """The first album or song in the page's main language (the first item if there is none)."""
    languages = Counter(str(item.get("language", "")).casefold() for item in items if isinstance(item, dict))
    main = languages.most_common(1)[0][0] if languages else ""
    return next((item for item in items if isinstance(item, dict) and item.get("type") in ("album", "song")
                 and str(item.get("language", "")).casefold() == main), items[0])


def poison(body: bytes, source: str) -> bytes:
    """The page ``body`` with one hostile copy of its first item per poison."""
    page = json.loads(body)
    items = page.get("data") if source == "jiosaavn" else page.get("albums", {}).get("items")
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
            extra.append(made)
    items[:0] = extra
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
