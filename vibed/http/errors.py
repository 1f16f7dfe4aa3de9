"""Every error leaves as JSON ``{"error": code, "detail": sentence}``; never HTML, never a trace.

The answer comes from the edge's one renderer (``vibed.edge.respond.error_answer``), so an error
the app raises and one the edge answers itself (its own, or a read endpoint's it serves without
the app: vibed/http/reads.py) look the same, byte for byte."""

from __future__ import annotations

import time

from quart import Response
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from vibed.edge.respond import Answer, error_answer
from vibed.http.answers import as_response
from vibed.logs import get_logger
from vibed.store.postgres import DatabaseUnavailable

log = get_logger("vibed.http")
LOG_EVERY = 10.0  # seconds between http_database_unavailable lines


class ApiError(Exception):
    """Raised by handlers for a clean 4xx; rendered by ``install``."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    return as_response(error_answer(status, code, detail, (headers or {}).items()))


def api_error_answer(exc: ApiError) -> Answer:
    return error_answer(exc.status, exc.code, exc.detail, exc.headers.items())


_last_logged = [-LOG_EVERY]


def unavailable_answer(exc: DatabaseUnavailable) -> Answer:
    """The database is down, restarting or stalled: a retryable 503, not a crash; one log line per
    ``LOG_EVERY`` seconds, not one per request, while it lasts."""
    now = time.monotonic()
    if now - _last_logged[0] >= LOG_EVERY:
        _last_logged[0] = now
        log.warning("http_database_unavailable", error=str(exc)[:200])
    return error_answer(503, "database_unavailable", "the database is not answering; try again shortly",
                        [("Retry-After", "5")])


def crash_answer(exc: Exception) -> Answer:
    log.error("http_handler_crashed", error=f"{type(exc).__name__}: {exc}"[:300])
    return error_answer(500, "internal", "the server failed to answer this request; it is logged")


def install(app: QuartTrio) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        return as_response(api_error_answer(exc))

    @app.errorhandler(DatabaseUnavailable)
    async def _database_unavailable(exc: DatabaseUnavailable) -> Response:
        return as_response(unavailable_answer(exc))

    @app.errorhandler(HTTPException)
    async def _http_error(exc: HTTPException) -> Response:
        code = (exc.name or "error").lower().replace(" ", "_")
        headers = {}
        if exc.code == 405:
            allow = exc.get_headers().__iter__()
            headers = {k: v for k, v in allow if k.lower() == "allow"}
        elif exc.code == 413:
            headers = {"Connection": "close"}  # the rest of the body is never read: no next request on it
        detail = {
            404: "no such endpoint; see /openapi.json",
            405: "method not allowed for this endpoint",
            413: "request body too large",
        }.get(exc.code or 0, exc.description or code)
        return error_response(exc.code or 500, code, detail, headers)

    @app.errorhandler(Exception)
    async def _crash(exc: Exception) -> Response:
        return as_response(crash_answer(exc))
