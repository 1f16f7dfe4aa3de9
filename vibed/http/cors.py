"""CORS: only the origins listed in ``VIBED_CORS_ORIGINS`` may read the API from another site.

Default (empty list): no CORS header is ever sent, so browsers keep the API same-origin.
A preflight (``OPTIONS`` with ``Access-Control-Request-Method``) from a listed origin gets a 204
with what it may send; from any other origin a 403 JSON error, so the refusal is readable in
the browser's network panel instead of being an opaque CORS failure.
"""

from __future__ import annotations

from typing import Any

from quart import Response, request

from vibed.http.errors import ApiError

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, If-None-Match, Last-Event-ID"
EXPOSE_HEADERS = "ETag, Retry-After, RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset"
MAX_AGE_S = "600"


class CorsPolicy:
    def __init__(self, origins: tuple[str, ...]) -> None:
        self.any = "*" in origins
        self.origins = frozenset(o.rstrip("/") for o in origins if o != "*")

    @property
    def enabled(self) -> bool:
        return self.any or bool(self.origins)

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self.any or origin.rstrip("/") in self.origins)

    def allow_origin(self, origin: str) -> str:
        return "*" if self.any else origin


def install(app: Any, config: Any) -> None:
    policy = CorsPolicy(tuple(config.cors_origins))

    @app.before_request
    async def _preflight() -> Response | None:
        if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
            return None
        origin = request.headers.get("Origin")
        if not policy.allows(origin):
            raise ApiError(403, "cors_forbidden", f"origin {str(origin)[:100]!r} may not call this API "
                                                  "(add it to VIBED_CORS_ORIGINS)")
        assert origin is not None
        response = Response(b"", status=204)
        del response.headers["Content-Type"]
        response.headers["Access-Control-Allow-Origin"] = policy.allow_origin(origin)
        response.headers["Access-Control-Allow-Methods"] = ALLOW_METHODS
        response.headers["Access-Control-Allow-Headers"] = ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = MAX_AGE_S
        response.headers["Vary"] = "Origin"
        return response

    @app.after_request
    async def _cors_headers(response: Any) -> Any:
        if not policy.enabled:
            return response
        response.vary.add("Origin")  # caches must not serve one origin's answer to another
        origin = request.headers.get("Origin")
        if policy.allows(origin) and "Access-Control-Allow-Origin" not in response.headers:
            response.headers["Access-Control-Allow-Origin"] = policy.allow_origin(origin or "")
            response.headers["Access-Control-Expose-Headers"] = EXPOSE_HEADERS
        return response
