"""What the app checks itself, after the edge (vibed/edge) has guarded the request.

The edge already refused oversized bodies and heads, counted the client against the per-IP
limit, answered CORS preflights, and adds the security headers, CORS and ``RateLimit-*`` to
every answer.  Left to the app:
- the client's address as the edge resolved it (``g.vibed_client_ip``), for the control endpoint;
- a query string that is not UTF-8 is a 400 (the framework would quietly turn its bytes into
  U+FFFD and answer a question nobody asked);
- a mutating request's body that is not declared JSON is a 415 (``local_authority.json_problem``).
"""

from __future__ import annotations

from urllib.parse import unquote_to_bytes

from quart import g, request
from quart_trio import QuartTrio

from vibed.http.errors import ApiError
from vibed.http.local_authority import json_problem
from vibed.vocab.edge_keys import CLIENT_IP


def query_problem(query: bytes) -> ApiError | None:
    """A query string that is not UTF-8 once percent-decoded: the 400 to raise; None when it is."""
    try:
        unquote_to_bytes(query).decode("utf-8")
    except UnicodeDecodeError:
        return ApiError(400, "invalid_query_string", "the query string is not UTF-8 (percent-encode UTF-8 bytes)")
    return None


def register(app: QuartTrio) -> None:
    @app.before_request
    async def _client_ip() -> None:
        g.vibed_client_ip = request.scope.get("state", {}).get(CLIENT_IP, request.remote_addr)

    @app.before_request
    async def _refuse_non_utf8_query() -> None:
        if (problem := query_problem(request.query_string)) is not None:
            raise problem

    @app.before_request
    async def _refuse_undeclared_bodies() -> None:
        problem = json_problem(request.method, request.headers)
        if problem is not None:
            raise ApiError(415, "unsupported_media_type", problem)
