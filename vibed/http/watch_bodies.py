"""What ``/api/watches`` reads and writes: a body checked field by field, and a watch's JSON.

A body is ``{"name", "artists": [ids], "artist_names": [...], "languages", "sources", "kinds"}``, every
field optional.  The ids and the three closed parts go through the one filter parser (the same values,
limits and 400 codes as ``?artist=``/``?language=`` on every path); names are bounded text.  For a PATCH,
a field given replaces that part and a field left out keeps it; ``[]`` for a closed part is "any", for
``artists``/``artist_names`` "none".  ``null`` means one thing for every field, on POST and PATCH alike: it
is no value, a 400 ``invalid_body`` that says what to send instead (JSON clients disagree on whether null
is "unset" or "clear", so neither is guessed).
"""

from __future__ import annotations

from typing import Any

from vibed.http.errors import ApiError
from vibed.http.listing_params import filter_error
from vibed.store.watches import MAX_FOLLOWS, Watch, WatchChange
from vibed.vocab.clock import utc_iso
from vibed.vocab.release_filter import BadFilter, parse_filter

FIELDS = ("name", "artists", "artist_names", "languages", "sources", "kinds")
PARTS = {"languages": "language", "sources": "source", "kinds": "kind"}  # body field -> the filter's key
MAX_NAME = 100  # a watch's name
MAX_ARTIST_NAME = 200  # one artist name
DEFAULT_NAME = "My artists"
INSTEAD_OF_NULL = {"name": "a name", "artists": "[] to follow no artist", "artist_names": "[] to wait for no name",
                   "languages": "[] for any language", "sources": "[] for any source", "kinds": "[] for any kind"}


def bad(detail: str) -> ApiError:
    return ApiError(400, "invalid_body", detail)


def _text(value: object, field: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        raise bad(f"{field}: give a non-empty string")
    text = " ".join(value.split())
    if len(text) > limit:
        raise bad(f"{field}: at most {limit} characters")
    if "\x00" in text:
        raise bad(f"{field}: must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate (JSON's "\ud800"): no database text can hold it
        raise bad(f"{field}: must be valid Unicode text") from None
    return text


def _names(value: object) -> list[str]:
    if not isinstance(value, list):
        raise bad('artist_names: give a list of names, e.g. ["A. R. Rahman"]')
    if len(value) > MAX_FOLLOWS:
        raise ApiError(400, "too_many_artists", f"artist_names: at most {MAX_FOLLOWS} names, got {len(value)}")
    return list(dict.fromkeys(_text(v, "artist_names", MAX_ARTIST_NAME) for v in value))


def parse_watch_body(body: dict[str, Any], *, creating: bool) -> WatchChange:
    extra = sorted(set(body) - set(FIELDS))
    if extra:
        raise bad(f"unknown field {extra[0]!r}; allowed: {', '.join(FIELDS)}")
    for field in FIELDS:
        if field in body and body[field] is None:
            raise bad(f"{field}: null is not a value; give {INSTEAD_OF_NULL[field]}, or leave {field} out "
                      "to keep it")
    name = _text(body["name"], "name", MAX_NAME) if "name" in body else None
    if not isinstance(body.get("artists", []), list):
        raise bad("artists: give a list of artist ids from /api/artists, e.g. [12, 40]")
    try:  # the one filter parser: ids and closed values are checked as on every path
        flt = parse_filter({PARTS[field]: body[field] for field in PARTS if field in body})
        artists = parse_filter({"artist": body["artists"]}).artists if "artists" in body else None
    except BadFilter as exc:
        raise filter_error(exc) from None
    given = frozenset(field for field in PARTS if field in body)
    return WatchChange(
        name=name if name is not None or not creating else DEFAULT_NAME,
        languages=sorted(flt.languages or ()), sources=sorted(flt.sources or ()), kinds=sorted(flt.kinds or ()),
        parts=given,
        artists=sorted(artists or ()) if "artists" in body or creating else None,
        artist_names=_names(body.get("artist_names", [])) if "artist_names" in body or creating else None)


def watch_json(watch: Watch) -> dict[str, Any]:
    flt = watch.filter
    return {"id": watch.id, "name": watch.name,
            "artists": [{"id": i, "name": n} for i, n in watch.artists], "pending": list(watch.pending),
            "languages": sorted(flt.languages or ()), "sources": sorted(flt.sources or ()),
            "kinds": sorted(flt.kinds or ()),
            "created_at": utc_iso(watch.created_at), "updated_at": utc_iso(watch.updated_at),
            "links": links(watch.id)}


def links(watch_id: str) -> dict[str, str]:
    """Where the watch's releases are read: every one a capability URL (the id is the secret)."""
    feeds = {f"feed_{suffix}": f"/feeds/watch/{watch_id}.{suffix}" for suffix in ("atom", "rss", "json", "ics")}
    return {"releases": f"/api/new-releases?watch={watch_id}", "stream": f"/api/new-releases/stream?watch={watch_id}",
            **feeds}
