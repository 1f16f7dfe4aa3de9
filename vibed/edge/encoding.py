"""Content codings: gzip and br for every answer the edge writes, when the client asks.

``negotiated`` is applied where the edge writes an answer (the router's ``_write_nowait``),
before the preconditions, so cached and uncached answers alike leave compressed, and a 304 is
decided against the representation that would be sent.  What it does to an answer:

- only a body whose type is text (JSON, feeds, HTML, CSS, JavaScript) is ever encoded; an event
  stream, a body already encoded, ``Cache-Control: no-transform``, a 204/206/304 never are;
- such an answer carries ``Vary: Accept-Encoding`` whatever coding is chosen (it can differ by it);
- ``Accept-Encoding`` is read as RFC 9110 §12.5.3 says: q-values, ``*``, ``identity``; no header or
  an empty one means identity; equal q prefers br, then gzip, then identity; a body under
  ``MIN_SIZE`` stays identity unless identity is refused (``identity;q=0`` or ``*;q=0``); when
  nothing listed is available, identity is sent (the RFC's interoperable answer, not a 406);
- an encoded representation has its own entity tag: ``"x"`` becomes ``"x-gz"`` or ``"x-br"``
  (``W/`` kept), and its own ``Content-Length``.

``Variants`` is where an answer's encodings are kept once made: the edge cache gives each entry
one, so a held answer is compressed once per coding, on its first request in that coding.
"""

from __future__ import annotations

import functools
import gzip

import attrs
import brotli

from vibed.edge.respond import Answer, Header

CODINGS = ("br", "gzip")  # what we can make, in our preference on equal q
SUFFIX = {"br": b"-br", "gzip": b"-gz"}
MIN_SIZE = 1024  # bytes: below it the coding's own framing eats most of the gain
GZIP_LEVEL = 6  # zlib's default: most of level 9's ratio at a third of its time
BROTLI_QUALITY = 5  # smaller than gzip -6 and as fast; 11 takes ~50x longer on a listing
VARY = (b"vary", b"Accept-Encoding")
_TEXT = (b"text/", b"application/json", b"application/atom+xml", b"application/rss+xml",
         b"application/feed+json", b"application/javascript", b"application/problem+json", b"image/svg+xml")
_NEVER = frozenset({204, 206, 304})
UNLISTED = 0.0001  # identity's q when not listed: acceptable, below any listed q (the least is 0.001)

Variants = dict[str, Answer]  # coding → the answer as sent in it (identity included)


@attrs.frozen
class Preference:
    """What one ``Accept-Encoding`` value allows: our codings it accepts, best first, and identity."""

    codings: tuple[str, ...]
    identity: bool  # identity may be sent


IDENTITY_ONLY = Preference((), True)


@functools.lru_cache(maxsize=256)  # clients send a handful of distinct values; parsing is per request
def preference(accept_encoding: str | None) -> Preference:
    if accept_encoding is None or not accept_encoding.strip():
        return IDENTITY_ONLY
    weights: dict[str, float] = {}
    for item in accept_encoding.split(","):
        name, _, params = item.partition(";")
        name = name.strip().lower()
        if not name:
            continue
        weight = 1.0
        key, _, value = params.partition("=")
        if key.strip().lower() == "q":
            try:
                weight = min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                continue  # an unreadable weight: the entry is ignored
        weights["gzip" if name == "x-gzip" else name] = weight
    star = weights.get("*")
    ours = {c: weights.get(c, star or 0.0) for c in CODINGS}
    # identity is acceptable unless refused (identity;q=0, or *;q=0 without identity listed); when it
    # is not listed at all, it ranks after every coding the client did list
    identity = weights.get("identity", star if star is not None else UNLISTED)
    # the best q first; on equal q, br before gzip (CODINGS' order, kept by the stable sort)
    ranked = sorted((c for c in CODINGS if ours[c] > 0 and (identity == 0 or ours[c] >= identity)),
                    key=lambda c: -ours[c])
    return Preference(tuple(ranked), identity > 0)


def varies(answer: Answer) -> bool:
    """``answer`` is one the coding can change: it is sent with ``Vary: Accept-Encoding``."""
    if answer.status in _NEVER or answer.header(b"content-encoding") is not None:
        return False
    ctype = answer.header(b"content-type")
    if ctype is None or not ctype.startswith(_TEXT) or ctype.startswith(b"text/event-stream"):
        return False
    control = answer.header(b"cache-control")
    return control is None or b"no-transform" not in control.lower()


def _compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, GZIP_LEVEL, mtime=0)  # mtime 0: the same body gives the same bytes


def _encoded(answer: Answer, coding: str) -> Answer:
    body = _compress(answer.body, coding)
    headers: list[Header] = []
    for key, value in answer.headers:
        if key == b"content-length":
            value = str(len(body)).encode()
        elif key == b"etag" and value.endswith(b'"'):
            value = value[:-1] + SUFFIX[coding] + b'"'
        headers.append((key, value))
    headers += [(b"content-encoding", coding.encode()), VARY]
    return Answer(answer.status, tuple(headers), body)


def negotiated(answer: Answer, accept_encoding: str | None, variants: Variants | None = None) -> Answer:
    """``answer`` as it is sent to a client that said ``accept_encoding``; ``variants`` keeps what
    was made (an edge-cache entry's), so the next request in the same coding reuses it."""
    if not varies(answer):
        return answer
    wanted = preference(accept_encoding)
    coding = "identity"
    if wanted.codings and (len(answer.body) >= MIN_SIZE or not wanted.identity):
        coding = wanted.codings[0]
    if variants is not None and (made := variants.get(coding)) is not None:
        return made
    made = Answer(answer.status, (*answer.headers, VARY), answer.body) if coding == "identity" \
        else _encoded(answer, coding)
    if variants is not None:
        variants[coding] = made
    return made
