"""CORS: only the origins listed in ``VIBED_CORS_ORIGINS`` may read the API from another site.

Default (empty list): no CORS header is ever sent, so browsers keep the API same-origin.
A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from a listed origin gets a 204
with what it may send; from any other origin a 403 JSON error, so the refusal is readable in
the browser's network panel instead of being an opaque CORS failure.  Streams get the same
``Access-Control-Allow-Origin`` as every other answer, so an EventSource may live on another site.
"""

from __future__ import annotations

from vibed.edge.respond import Answer, Header, error_answer

ALLOW_METHODS = b"GET, POST, OPTIONS"
# every precondition the edge evaluates (vibed/edge/conditional.py), so a page on a listed origin may send it
ALLOW_HEADERS = (b"Authorization, Content-Type, If-Match, If-None-Match, If-Modified-Since, If-Unmodified-Since, "
                 b"Last-Event-ID")
EXPOSE_HEADERS = b"ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
MAX_AGE_S = b"600"


class CorsPolicy:
    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")

    @property
    def enabled(self) -> bool:
        return self.any or bool(self.origins)

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self.any or origin.rstrip("/") in self.origins)

    def _allow_origin(self, origin: str) -> bytes:
        return b"*" if self.any else origin.encode("latin-1")

    def headers(self, origin: str | None) -> list[Header]:
        """What an ordinary answer carries for this ``Origin`` (nothing while CORS is off)."""
        if not self.enabled:
            return []
        out: list[Header] = [(b"vary", b"Origin")]  # caches must not serve one origin's answer to another
        if origin is not None and self.allows(origin):
            out += [(b"access-control-allow-origin", self._allow_origin(origin)),
                    (b"access-control-expose-headers", EXPOSE_HEADERS)]
        return out

    def preflight(self, origin: str | None) -> Answer:
        if origin is None or not self.allows(origin):
            return error_answer(403, "cors_forbidden", f"origin {str(origin)[:100]!r} may not call this API "
                                                       "(add it to VIBED_CORS_ORIGINS)")
        return Answer(204, ((b"access-control-allow-origin", self._allow_origin(origin)),
                            (b"access-control-allow-methods", ALLOW_METHODS),
                            (b"access-control-allow-headers", ALLOW_HEADERS),
                            (b"access-control-max-age", MAX_AGE_S),
                            (b"vary", b"Origin")))
