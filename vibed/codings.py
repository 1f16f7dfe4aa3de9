"""Content codings (RFC 9110 §8.4, §12.5.3), sans I/O: which one a client accepts, and the bytes.

``preference`` reads ``Accept-Encoding``: q-values, ``*``, ``identity``; no header or an empty one
means identity only; equal q prefers br, then gzip, then identity; identity not listed is
acceptable but ranks after every coding the client listed; it is refused by ``identity;q=0``, or
by ``*;q=0`` without identity listed.  ``x-gzip`` is gzip.  ``chosen`` applies it to one body: a
body under ``MIN_SIZE`` stays identity unless identity is refused; when nothing listed is
available, identity is sent (RFC 9110's interoperable answer, not a 406).

``encodable`` says which answers a coding may change at all: a text body (JSON, feeds, HTML, CSS,
JavaScript), not an event stream, not one already encoded or marked ``no-transform``, not a
204/206/304.  An encoded representation has its own entity tag (``tagged``): ``"x"`` becomes
``"x-gz"`` or ``"x-br"``, ``W/`` kept.  The edge applies all this to its answers (vibed/edge/encoding.py).
"""

from __future__ import annotations

import functools
import gzip

import attrs
import brotli

CODINGS = ("br", "gzip")  # what we can make, in our preference on equal q
MIN_SIZE = 1024  # bytes: below it the coding's own framing eats most of the gain
GZIP_LEVEL = 6  # zlib's default: most of level 9's ratio at a third of its time
BROTLI_QUALITY = 5  # smaller than gzip -6 and as fast; 11 takes ~50x longer on a listing
_SUFFIX = {"br": b"-br", "gzip": b"-gz"}
_TEXT = (b"text/", b"application/json", b"application/atom+xml", b"application/rss+xml",
         b"application/feed+json", b"application/javascript", b"application/problem+json", b"image/svg+xml")
_NEVER = frozenset({204, 206, 304})
_UNLISTED = 0.0001  # identity's q when not listed: acceptable, below any listed q (the least is 0.001)


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
    identity = weights.get("identity", star if star is not None else _UNLISTED)
    # the best q first; on equal q, br before gzip (CODINGS' order, kept by the stable sort)
    ranked = sorted((c for c in CODINGS if ours[c] > 0 and (identity == 0 or ours[c] >= identity)),
                    key=lambda c: -ours[c])
    return Preference(tuple(ranked), identity > 0)


def chosen(accept_encoding: str | None, size: int) -> str:
    """The coding to send a body of ``size`` bytes in: ``br``, ``gzip`` or ``identity``."""
    wanted = preference(accept_encoding)
    if wanted.codings and (size >= MIN_SIZE or not wanted.identity):
        return wanted.codings[0]
    return "identity"


def encodable(status: int, content_type: bytes | None, cache_control: bytes | None,
              content_encoding: bytes | None) -> bool:
    """An answer with these a coding may change: it is sent with ``Vary: Accept-Encoding``."""
    if status in _NEVER or content_encoding is not None or content_type is None:
        return False
    if not content_type.startswith(_TEXT) or content_type.startswith(b"text/event-stream"):
        return False
    return cache_control is None or b"no-transform" not in cache_control.lower()


def compress(body: bytes, coding: str) -> bytes:
    if coding == "br":
        return bytes(brotli.compress(body, quality=BROTLI_QUALITY))
    return gzip.compress(body, GZIP_LEVEL, mtime=0)  # mtime 0: the same body gives the same bytes


def tagged(etag: bytes, coding: str) -> bytes:
    """The entity tag of ``coding``'s representation, from identity's."""
    return etag[:-1] + _SUFFIX[coding] + b'"' if etag.endswith(b'"') else etag
