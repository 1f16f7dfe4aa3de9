"""The one JSON encoder of every answer and frame: compact UTF-8, non-ASCII kept as it is.

    json_bytes({"data": [...]})  ->  b'{"data":[...]}'

``orjson`` writes it, several times faster than ``json.dumps`` on a listing page.  Its bytes are
``json.dumps(value, ensure_ascii=False, separators=(",", ":"))`` encoded as UTF-8 for what the
daemon sends (str, int, bool, None, lists, dicts with str keys); for what orjson refuses (an
integer past 64 bits, a lone surrogate in upstream text, a key that is not a str) the standard
encoder writes that one document, so nothing that encoded before fails now.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def _standard(value: Any, default: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=default).encode(
        "utf-8", "surrogatepass")


def json_bytes(value: Any, *, default: Any = None) -> bytes:
    """``value`` as compact JSON bytes; ``default`` as for ``json.dumps`` (e.g. ``str``)."""
    try:
        return orjson.dumps(value, default=default)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return _standard(value, default)


def json_text(value: Any, *, default: Any = None) -> str:
    return json_bytes(value, default=default).decode("utf-8", "surrogatepass")
