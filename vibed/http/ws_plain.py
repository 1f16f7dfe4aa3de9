"""``GET /api/new-releases/ws`` without ``Upgrade: websocket``: 426 Upgrade Required, saying how.

The edge serves the WebSocket itself, but only a request asking for it (``Upgrade: websocket``) is
taken there; any other request for the path reaches the app.  Without this route it would be told
"no such endpoint" (404) about an endpoint that exists (a browser's address bar, ``curl`` without
the headers); it gets 426 with ``Upgrade: websocket`` (RFC 9110 §15.5.22), in the one error shape.
"""

from __future__ import annotations

from quart import Blueprint, Response
from quart_trio import QuartTrio

from vibed.http.errors import ApiError
from vibed.websocket.upgrade import HOW

blueprint = Blueprint("ws_plain", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


@blueprint.get("/api/new-releases/ws")
async def not_an_upgrade() -> Response:
    raise ApiError(426, "websocket_upgrade_required", f"this request asks for no WebSocket (no Upgrade: websocket): {HOW}",
                   {"Upgrade": "websocket", "Connection": "Upgrade"})
