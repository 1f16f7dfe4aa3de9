"""A fetch process's HTTP: ``/api/health`` and ``/metrics`` answer, everything else is a serve process's."""

from __future__ import annotations

from quart_trio import QuartTrio

from vibed.http.errors import ApiError

FETCH_PATHS = frozenset({"/api/health", "/metrics"})


def fetch_only(app: QuartTrio) -> None:
    from quart import request

    @app.before_request
    async def refuse_what_a_fetch_process_does_not_serve() -> None:
        if request.path not in FETCH_PATHS:
            raise ApiError(404, "not_served_here", "this is a fetch process (VIBED_ROLE=fetch): it answers "
                                                   "/api/health and /metrics; ask a serve process")
