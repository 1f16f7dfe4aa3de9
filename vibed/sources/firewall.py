"""What may cross from an upstream answer into a ``Release``: the checks every source shares.

An upstream is untrusted input.  Whatever it sends, a value that leaves here is storable and
safe to show: text without NUL, control characters or lone surrogates (PostgreSQL refuses the
first and the last, and one such item used to fail a whole batch), nor bidi overrides and
zero-width characters (``vibed.vocab.text``); URLs only ``http(s)`` with a host and without
``user@`` (no ``javascript:`` or ``data:`` in the data, hence none in a page, and no
``https://www.jiosaavn.com@evil.example/``); dates from 1900 and no further in the future than
``FUTURE_SLACK`` (a 2099 date would pin an item to the top of every list, a year-1 date means
nothing); counts that fit PostgreSQL's ``bigint``; the raw item bounded in depth and with only
finite numbers, cleaned the same way.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from vibed.vocab.text import clean_line, storable

FUTURE_SLACK = dt.timedelta(days=60)  # pre-releases are dated weeks ahead, not years
RAW_DEPTH = 16  # upstream items are 3-4 levels deep; deeper is cut off
RAW_TEXT = 10_000  # characters of one string inside ``raw``
EARLIEST_YEAR = 1900  # recorded music; before it a date or a year is a placeholder (0001-01-01)
COUNT_MAX = 2**63 - 1  # PostgreSQL's bigint: a larger play count would cost the item its row


def clean_text(value: str) -> str:
    """One line of text: controls and invisible characters removed, line breaks folded, ends stripped."""
    return clean_line(value)


def count(value: int | None) -> int | None:
    """A count (plays, items): None when negative or past ``COUNT_MAX``."""
    return value if value is not None and 0 <= value <= COUNT_MAX else None


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
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname or "@" in parts.netloc:
        return None  # user@ before the host: a link that reads as one site and goes to another
    return url


def https_image(value: str | None) -> str | None:
    """``safe_url(value)`` over https: the page allows images over https only (its CSP), and the catalogues'
    CDNs serve every image over https, so an ``http://`` cover is the same picture made to fail."""
    url = safe_url(value)
    return "https://" + url.split("://", 1)[1] if url and url[:5].lower() == "http:" else url


def plausible_date(value: dt.date | None, today: dt.date | None = None) -> dt.date | None:
    """The date, or None when it lies more than ``FUTURE_SLACK`` ahead or before ``EARLIEST_YEAR``
    (then it means nothing)."""
    if value is None or value.year < EARLIEST_YEAR:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    return None if value > today + FUTURE_SLACK else value


def plausible_year(value: int | None, today: dt.date | None = None) -> int | None:
    if value is None:
        return None
    today = today or dt.datetime.now(dt.UTC).date()
    return value if EARLIEST_YEAR <= value <= (today + FUTURE_SLACK).year else None


def clean_raw(value: Any, depth: int = 0) -> Any:
    """A JSON value safe for ``jsonb``: strings cleaned (keys too), numbers finite, depth bounded."""
    if depth > RAW_DEPTH:
        return None
    if isinstance(value, str):
        return storable(value[:RAW_TEXT])
    if isinstance(value, bool) or value is None or isinstance(value, int):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {storable(str(k)[:200]): clean_raw(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_raw(v, depth + 1) for v in value]
    return None
