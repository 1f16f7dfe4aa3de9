"""What every HTTP answer passes through: size limit, client identity and rate limit, CORS, headers.

``register(app)`` installs Quart before/after-request hooks, in this order:
1. a body larger than ``MAX_CONTENT_LENGTH`` is refused from its Content-Length (413) before
   authentication or any handler reads it, and a query string that is not UTF-8 is a 400 (the
   framework would quietly turn its bytes into U+FFFD and answer a question nobody asked);
   a body within the limit is read up front (see ``_read_small_bodies``);
2. the client's address is resolved (``client_ip``) and counted (``api_limit``);
3. CORS preflights are answered (``cors``);
4. every response gets the security headers, with a CSP chosen by its type: the HTML page may
   load its own script, style and images; anything else (JSON, text) may load nothing at all.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_to_bytes

from quart import request

from vibed.http import api_limit, cors
from vibed.http.errors import ApiError

JSON_CSP = "default-src 'none'; frame-ancestors 'none'"
HTML_CSP = ("default-src 'self'; img-src 'self' https: data:; connect-src 'self'; style-src 'self'; "
            "script-src 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def content_security_policy(mimetype: str | None) -> str:
    return HTML_CSP if mimetype == "text/html" else JSON_CSP


def register(app: Any) -> None:
    config = app.extensions["vibed"].config

    @app.before_request
    async def _refuse_large_bodies() -> None:
        limit = app.config.get("MAX_CONTENT_LENGTH")
        length = request.content_length
        if limit is not None and length is not None and length > limit:
            # close after answering: the unread body must not be parsed as the next request, and
            # draining megabytes for a client we refuse is work for nothing
            raise ApiError(413, "payload_too_large",
                           f"the request body is {length} bytes; at most {limit} are accepted",
                           {"Connection": "close"})

    @app.before_request
    async def _read_small_bodies() -> None:
        # Read the (≤ 64 KiB) body before anything answers: Hypercorn recycles a keep-alive
        # connection only when the request was read to its end, and a 401 or 405 sent over an
        # unread body leaves the client's next request on that connection waiting forever.
        if request.content_length or "Transfer-Encoding" in request.headers:
            await request.get_data()

    @app.before_request
    async def _refuse_non_utf8_query() -> None:
        try:
            unquote_to_bytes(request.query_string).decode("utf-8")
        except UnicodeDecodeError:
            raise ApiError(400, "invalid_query_string", "the query string is not UTF-8 "
                                                        "(percent-encode UTF-8 bytes)") from None

    api_limit.install(app, config)
    cors.install(app, config)

    @app.after_request
    async def _security_headers(response: Any) -> Any:
        for key, value in SECURITY_HEADERS.items():
            response.headers.setdefault(key, value)
        # a bodiless answer (304, 204) keeps no Content-Type; it gets the strict policy
        has_type = "Content-Type" in response.headers
        response.headers.setdefault("Content-Security-Policy",
                                    content_security_policy(response.mimetype if has_type else None))
        return response
