"""What may cross from an upstream answer into a ``Release``: the checks every source shares.

An upstream is untrusted input.  Whatever it sends, a value that leaves here is storable and
safe to show: text without NUL, control characters or lone surrogates (PostgreSQL refuses the
first and the last, and one such item used to fail a whole batch); URLs only ``http(s)`` with
a host (no ``javascript:`` or ``data:`` in the data, hence none in a page); dates no further in
the future than ``FUTURE_SLACK`` (a 2099 date would pin an item to the top of every list); the
raw item bounded in depth and with only finite numbers, cleaned the same way.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

# C0 controls but tab/newline/CR, DEL, C1 controls, and UTF-16 surrogates (invalid alone in UTF-8)
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_SPACES = re.compile(r"[\t\n\r]+")
FUTURE_SLACK = dt.timedelta(days=60)  # pre-releases are dated weeks ahead, not years
RAW_DEPTH = 16  # upstream items are 3-4 levels deep; deeper is cut off
RAW_TEXT = 10_000  # characters of one string inside ``raw``


def clean_text(value: str) -> str:
    """One line of text: controls removed, tabs and newlines folded to a space, ends stripped."""
    return _SPACES.sub(" ", _CONTROL.sub("", value)).strip()


def safe_url(value: str | None) -> str | None:
    """``value`` when it is an absolute http(s) URL with a host; None otherwise."""
    if not value:
        return None
    url = clean_text(value)
    if any(c.isspace() for c in url):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an invalid IPv6 host
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return url


def plausible_date(value: dt.date | None, today: dt.date | None = None) -> dt.date | None:
    """The date, or None when it lies more than ``FUTURE_SLACK`` ahead (then it means nothing)."""
    if value is None:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    return None if value > today + FUTURE_SLACK else value


def plausible_year(value: int | None, today: dt.date | None = None) -> int | None:
    if value is None:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    return value if 1900 <= value <= (today + FUTURE_SLACK).year else None


def clean_raw(value: Any, depth: int = 0) -> Any:
    """A JSON value safe for ``jsonb``: strings cleaned (keys too), numbers finite, depth bounded."""
    if depth > RAW_DEPTH:
        return None
    if isinstance(value, str):
        return _CONTROL.sub("", value[:RAW_TEXT])
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {_CONTROL.sub("", str(k)[:200]): clean_raw(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_raw(v, depth + 1) for v in value]
    return None
