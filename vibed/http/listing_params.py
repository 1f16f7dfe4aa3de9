"""The listing's query string, checked: every bad value is a 400 that names the parameter and the fix.

Nothing unchecked reaches SQL: the filter (languages, sources, kinds, artist ids) is the one
``vibed.vocab.release_filter`` parses on every path, ``limit`` and
``since`` are parsed strictly, and ``q`` is length-bounded text without NUL (PostgreSQL text
cannot hold one, so it would otherwise become a server error).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from vibed.http.cursor import InvalidCursor, decode_cursor
from vibed.http.errors import ApiError
from vibed.store.listing import ListingQuery
from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter, parse_filter

DEFAULT_LIMIT = 25
MAX_LIMIT = 100
MAX_Q = 200
_DIGITS = re.compile(r"^[0-9]{1,6}$")
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def _bad(param: str, detail: str) -> ApiError:
    return ApiError(400, "invalid_parameter", f"{param}: {detail}")


def _one(args: Any, name: str) -> str | None:
    values = args.getlist(name)
    if len(values) > 1:
        raise _bad(name, "give it at most once")
    return values[0] if values else None


def filter_error(exc: BadFilter) -> ApiError:
    """A bad filter value: the same 400 code on every path (the listing, feeds, streams, webhooks)."""
    return ApiError(400, exc.error, exc.detail)


def parse_release_filter(args: Any) -> ReleaseFilter:
    """``language=ml&language=hi`` and ``language=ml,hi`` alike, for every key of the filter."""
    try:
        return parse_filter({key: args.getlist(key) for key in KEYS if key in args})
    except BadFilter as exc:
        raise filter_error(exc) from None


def parse_limit(args: Any) -> int:
    value = _one(args, "limit")
    if value is None or value == "":
        return DEFAULT_LIMIT
    if not _DIGITS.match(value) or not 1 <= int(value) <= MAX_LIMIT:
        raise _bad("limit", f"must be a whole number from 1 to {MAX_LIMIT}")
    return int(value)


def parse_since(args: Any) -> dt.date | None:
    value = _one(args, "since")
    if value is None:
        return None
    try:
        if not _DATE.match(value):
            raise ValueError
        return dt.date.fromisoformat(value)
    except ValueError:
        raise _bad("since", "must be a date like 2026-03-01 (YYYY-MM-DD)") from None


def parse_q(args: Any) -> str | None:
    value = _one(args, "q")
    if value is None or not value.strip():
        return None
    if len(value) > MAX_Q:
        raise _bad("q", f"must be at most {MAX_Q} characters")
    if "\x00" in value:
        raise _bad("q", "must not contain NUL characters")
    return value.strip()


def parse_listing(args: Any, cursor_secret: bytes) -> ListingQuery:
    cursor = _one(args, "cursor")
    after = None
    if cursor:
        try:
            after = decode_cursor(cursor, cursor_secret)
        except InvalidCursor as exc:
            raise ApiError(400, "invalid_cursor", str(exc)) from None
    return ListingQuery(
        filter=parse_release_filter(args), since=parse_since(args), q=parse_q(args),
        limit=parse_limit(args), after=after,
    )
