"""One renderer for every answer the edge writes: the app's, the cache's and the edge's own errors.

An ``Answer`` is what a handler means (status, its own headers, body); ``render`` turns it into
bytes on one h11 connection and adds what every answer carries: ``Date``, the security headers
(unless the app chose its own, e.g. the page's CSP), CORS and ``RateLimit-*`` for this request.
Because cached and uncached answers pass through the same function, they are byte-identical
apart from ``Date``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from email.utils import formatdate
from http import HTTPStatus

import attrs
import h11

Header = tuple[bytes, bytes]
JSON_CSP = b"default-src 'none'; frame-ancestors 'none'"
HTML_CSP = (b"default-src 'self'; img-src 'self' https: data:; connect-src 'self'; style-src 'self'; "
            b"script-src 'self'; frame-ancestors 'none'")
SECURITY_HEADERS: tuple[Header, ...] = (
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)
# hop-by-hop or per-request: never stored with an answer, always written fresh
_PER_REQUEST = frozenset({b"date", b"server", b"connection", b"keep-alive", b"transfer-encoding"})
_BODILESS = frozenset({204, 304})
_REASONS = {s.value: s.phrase.encode() for s in HTTPStatus}


@attrs.frozen
class Answer:
    status: int
    headers: tuple[Header, ...]  # lower-case names; no Date, no per-request headers
    body: bytes = b""

    def header(self, name: bytes) -> bytes | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None


def reason(status: int) -> bytes:
    return _REASONS.get(status, b"")


def content_security_policy(content_type: bytes | None) -> bytes:
    return HTML_CSP if content_type is not None and content_type.startswith(b"text/html") else JSON_CSP


# an error tells this moment (a release not stored yet, a limit, a missing token): no cache keeps it
ERROR_CACHE_CONTROL = b"no-store"


def error_body(code: str, detail: str) -> bytes:
    """The one JSON error shape, also used by the Quart app's error handlers."""
    return json.dumps({"error": code, "detail": detail}, ensure_ascii=False, separators=(",", ":")).encode()


def error_answer(status: int, code: str, detail: str, headers: Iterable[tuple[str, str]] = ()) -> Answer:
    body = error_body(code, detail)
    own = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    own += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers]
    if not any(k == b"cache-control" for k, _ in own):
        own.append((b"cache-control", ERROR_CACHE_CONTROL))
    return Answer(status, tuple(own), body)


_KEPT_ON_ERRORS = frozenset({b"allow", b"retry-after", b"www-authenticate", b"etag", b"cache-control"})


def as_json_error(answer: Answer) -> Answer:
    """An error answer in the one JSON shape: an app's answer that is not JSON (a framework's HTML
    page, Hypercorn's empty 500) is rewritten; what a client needs from its headers is kept."""
    ctype = answer.header(b"content-type") or b""
    if answer.status < 400 or ctype.startswith(b"application/json"):
        return answer
    phrase = _REASONS.get(answer.status, b"error").decode()
    kept = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in answer.headers if k in _KEPT_ON_ERRORS]
    return error_answer(answer.status, phrase.lower().replace(" ", "_").replace("-", "_"), phrase, kept)


def stored_headers(headers: Iterable[Header]) -> tuple[Header, ...]:
    """An app's response headers as an ``Answer`` keeps them (per-request ones left out)."""
    return tuple((k, v) for k, v in headers if k not in _PER_REQUEST)


_date_cache: list[object] = [0, b""]


def http_date() -> bytes:
    now = int(time.time())
    if _date_cache[0] != now:  # one formatting per second, not per answer
        _date_cache[0], _date_cache[1] = now, formatdate(now, usegmt=True).encode()
    return _date_cache[1]  # type: ignore[return-value]


def decorated(answer: Answer, extra: Sequence[Header]) -> list[Header]:
    """The answer's headers plus what every answer carries; ``extra`` = CORS, RateLimit-* etc."""
    headers = [(b"date", http_date()), *answer.headers, *extra]
    present = {k for k, _ in headers}
    headers += [h for h in SECURITY_HEADERS if h[0] not in present]
    if b"content-security-policy" not in present:
        ctype = answer.header(b"content-type") if answer.status not in _BODILESS else None
        headers.append((b"content-security-policy", content_security_policy(ctype)))
    return headers


def render_head(conn: h11.Connection, answer: Answer, extra: Sequence[Header] = (), *,
                close: bool = False) -> bytes:
    """The status line and headers; the body follows (an endless one, for a stream)."""
    headers = decorated(answer, extra)
    if close:
        headers.append((b"connection", b"close"))
    # _parsed: skip h11's per-header regexes, the largest cost of a cached answer.  Every header
    # here is either ours (constants, numbers) or the app's, which Hypercorn's HTTPStream already
    # validated (build_and_validate_headers); h11 still checks the framing headers.
    return conn.send(h11.Response(status_code=answer.status, headers=headers,
                                  reason=_REASONS.get(answer.status, b""), _parsed=True)) or b""


def render(conn: h11.Connection, answer: Answer, extra: Sequence[Header] = (), *, head: bool = False,
           close: bool = False) -> bytes:
    """The answer as bytes on ``conn``; ``close`` adds ``Connection: close`` (h11 then ends the
    connection after it); ``head`` = a HEAD request, whose answer carries no body."""
    out = render_head(conn, answer, extra, close=close)
    if answer.body and not head and answer.status not in _BODILESS:
        out += conn.send(h11.Data(data=answer.body)) or b""
    return out + (conn.send(h11.EndOfMessage()) or b"")


@attrs.define(eq=False)
class HeadCache:
    """A response head that repeats (every stream's 200), rendered by h11 once per second for each
    kind of request and then copied: h11's rendering is the largest cost of opening a stream.

    What h11 writes depends on the request's HTTP version and ``Connection`` header (chunked body
    or not, ``Connection: close``) and on the second (``Date``): that is the key.  ``extra`` (CORS,
    RateLimit-*, which change from request to request) is written after the held lines, as
    ``render_head`` would write it (unvalidated: the edge's own headers).  A copied head is not
    passed through ``conn``, so the connection must not answer anything after it (a stream's does
    not: its socket leaves h11 for good)."""

    answer: Answer
    _date: bytes = b""
    _heads: dict[tuple[bytes, str | None], tuple[bytes, bool]] = attrs.field(factory=dict)

    def render(self, key: tuple[bytes, str | None], conn: Callable[[], h11.Connection],
               extra: Sequence[Header]) -> tuple[bytes, bool]:
        """The head, and whether the body that follows is chunked; ``key``: the request's HTTP
        version and ``Connection``; ``conn``: its h11 connection, asked for only to render anew."""
        date = http_date()
        if date != self._date:
            self._date, self._heads = date, {}
        held = self._heads.get(key)
        if held is None:
            head = render_head(conn(), self.answer)
            held = (head[:-2], b"transfer-encoding: chunked" in head.lower())  # HTTP/1.1 yes, 1.0 no
            if len(self._heads) < 16:  # a few kinds of request per second; others are rendered each time
                self._heads[key] = held
        lines, chunked = held
        if not extra:
            return lines + b"\r\n", chunked
        return lines + b"".join(b"%s: %s\r\n" % header for header in extra) + b"\r\n", chunked
