"""Conditional requests and shared caching, as RFC 9110 says, for every answer the edge writes.

``preconditions`` is §13.2.2's order, applied to the answer a ``GET``/``HEAD`` would get (cached
or not; only a 2xx is ever replaced):

1. ``If-Match``: ``*`` holds for any current representation, else a *strong* match with ``ETag``;
   false → 412;
2. without ``If-Match``, ``If-Unmodified-Since``: false when ``Last-Modified`` is later → 412;
3. ``If-None-Match``: ``*`` or a *weak* match with ``ETag`` → 304;
4. without ``If-None-Match``, ``If-Modified-Since``: ``Last-Modified`` not later → 304.

Dates are read in all three HTTP-date forms (IMF-fixdate, RFC 850, asctime); an unreadable date
is ignored, as the RFC says.  ``unsafe_refusal`` is the part that applies before an unsafe method
runs: none of those targets has an entity tag, so an ``If-Match`` listing tags can never hold.

``shared_cacheable`` says whether a cache in front of us may store an answer and give it to
another client; such an answer must not carry what belongs to one client (``RateLimit-*``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from email.utils import parsedate_to_datetime

from vibed.edge.respond import Answer, error_answer

# RFC 9111 §4.2.2: statuses a cache may store without explicit freshness
HEURISTIC = frozenset({200, 203, 204, 206, 300, 301, 308, 404, 405, 410, 414, 501})
_BODY_HEADERS = (b"content-type", b"content-length", b"content-encoding")  # not on a 304 (§15.4.5)


def http_date(text: str | bytes | None) -> dt.datetime | None:
    """An HTTP-date in any of its three forms (asctime has no zone: it is GMT), else None."""
    if text is None:
        return None
    try:
        when = parsedate_to_datetime(text.decode("latin-1") if isinstance(text, bytes) else text)
    except (TypeError, ValueError, IndexError):
        return None
    return when.replace(tzinfo=dt.UTC) if when.tzinfo is None else when


def _tags(header: str) -> list[str]:
    return [t.strip() for t in header.split(",") if t.strip()]


def strong_match(header: str, etag: bytes | None) -> bool:
    """RFC 9110 §8.8.3.2 strong comparison: both tags strong and equal; ``*`` matches anything."""
    tags = _tags(header)
    if "*" in tags:
        return True
    return etag is not None and not etag.startswith(b"W/") and etag.decode("latin-1") in tags


def weak_match(header: str, etag: bytes | None) -> bool:
    """Weak comparison: ``W/"x"`` matches ``"x"``; ``*`` matches any current representation."""
    tags = _tags(header)
    if "*" in tags:
        return True
    if etag is None:
        return False
    mine = etag.decode("latin-1").removeprefix("W/")
    return any(t.removeprefix("W/") == mine for t in tags)


def not_modified(answer: Answer) -> Answer:
    """The 304 for ``answer``: its validators and caching headers (``Vary`` too), no body, no body headers."""
    keep = tuple((k, v) for k, v in answer.headers if k not in _BODY_HEADERS)
    return Answer(304, keep)


def _failed(answer: Answer, detail: str) -> Answer:
    etag = answer.header(b"etag")
    refusal = error_answer(412, "precondition_failed", detail)
    return Answer(412, refusal.headers + (((b"etag", etag),) if etag else ()), refusal.body)


def preconditions(answer: Answer, headers: Mapping[str, str]) -> Answer:
    """The answer to write for a GET or HEAD that would get ``answer``: itself, a 304 or a 412."""
    if not 200 <= answer.status < 300:
        return answer
    etag, modified = answer.header(b"etag"), http_date(answer.header(b"last-modified"))
    if_match = headers.get("if-match")
    if if_match is not None:
        if not strong_match(if_match, etag):
            return _failed(answer, "If-Match: no listed entity tag is the current one (see ETag)")
    else:
        since = http_date(headers.get("if-unmodified-since"))
        if since is not None and modified is not None and modified > since:
            return _failed(answer, "If-Unmodified-Since: the resource changed after that date")
    if_none_match = headers.get("if-none-match")
    if if_none_match is not None:
        return not_modified(answer) if weak_match(if_none_match, etag) else answer
    since = http_date(headers.get("if-modified-since"))
    if since is not None and modified is not None and modified <= since:
        return not_modified(answer)
    return answer


def unsafe_refusal(headers: Mapping[str, str]) -> Answer | None:
    """Before an unsafe method runs: a 412 when ``If-Match`` lists tags (no such target has one)."""
    if_match = headers.get("if-match")
    if if_match is None or "*" in _tags(if_match):
        return None
    return error_answer(412, "precondition_failed", "If-Match: this resource has no entity tag to match; "
                                                    "send the request without If-Match (or with If-Match: *)")


def shared_cacheable(answer: Answer) -> bool:
    """A shared cache may store this answer and serve it to others (RFC 9111 §3, §4.2.2)."""
    control = answer.header(b"cache-control")
    if control is None:
        return answer.status in HEURISTIC
    directives = {d.strip().split(b"=")[0].lower() for d in control.split(b",")}
    return not directives & {b"private", b"no-store"}
