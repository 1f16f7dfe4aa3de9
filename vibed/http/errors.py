"""Every error leaves as JSON ``{"error": code, "detail": sentence}``; never HTML, never a trace.

The body comes from the edge's one renderer (``vibed.edge.respond.error_body``), so an error the
app raises and one the edge answers itself look the same."""

from __future__ import annotations

from quart import Response
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException

from vibed.edge.respond import ERROR_CACHE_CONTROL, error_body
from vibed.logs import get_logger

log = get_logger("vibed.http")


class ApiError(Exception):
    """Raised by handlers for a clean 4xx; rendered by ``install``."""

    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> Response:
    response = Response(error_body(code, detail), status=status, content_type="application/json")
    response.headers["Cache-Control"] = ERROR_CACHE_CONTROL.decode()
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def install(app: QuartTrio) -> None:
    @app.errorhandler(ApiError)
    async def _api_error(exc: ApiError) -> Response:
        return error_response(exc.status, exc.code, exc.detail, exc.headers)

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
        log.error("http_handler_crashed", error=f"{type(exc).__name__}: {exc}"[:300])
        return error_response(500, "internal", "the server failed to answer this request; it is logged")
