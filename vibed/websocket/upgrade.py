"""From an admitted WebSocket upgrade to a running session, and the slot back when it ends.

The edge has parsed the upgrade request with h11; ``handshake_refusal`` asks wsproto (the same
rules trio-websocket applies next) whether the handshake can succeed, *before* a stream slot is
taken, so a malformed upgrade is answered by the edge in its one JSON error shape and holds nothing.
``serve_websocket`` then lets trio-websocket read the request again and answer it under a deadline:
whatever goes wrong, the ``finally`` releases the slot and closes the socket.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable

import attrs
import h11
import trio
from trio_websocket import wrap_server_stream
from wsproto import ConnectionType, WSConnection
from wsproto.events import RejectConnection
from wsproto.utilities import RemoteProtocolError

from vibed.delivery.filters import StreamRequest
from vibed.delivery.hub import Hub
from vibed.delivery.replay import Replayer
from vibed.delivery.sse import StreamSettings
from vibed.logs import get_logger
from vibed.vocab.wire import replayed_stream
from vibed.websocket.messages import MAX_MESSAGE_BYTES
from vibed.websocket.session import WebSocketSession

log = get_logger("vibed.delivery")
HOW = ("a WebSocket upgrade is a GET with Connection: Upgrade, Upgrade: websocket, "
       "Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key")


@attrs.frozen
class Refusal:
    """Why the handshake cannot succeed; the edge renders it as an error answer."""

    status: int  # 400, or 426 for a WebSocket version other than 13
    error: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()


def upgrade_bytes(request: h11.Request) -> bytes:
    """The upgrade request as bytes again (the edge's h11 consumed them): what wsproto reads."""
    again = h11.Request(method=request.method, target=request.target, headers=request.headers.raw_items())
    return h11.Connection(h11.CLIENT).send(again) or b""


def handshake_refusal(request: h11.Request) -> Refusal | None:
    """None when trio-websocket will accept this upgrade; else what to answer instead."""
    try:
        WSConnection(ConnectionType.SERVER).receive_data(upgrade_bytes(request))
    except h11.LocalProtocolError as exc:  # e.g. HTTP/1.0 without Host: not a request h11 can repeat
        return Refusal(400, "bad_websocket_upgrade", f"{exc}: {HOW}")
    except RemoteProtocolError as exc:
        hint = exc.event_hint if isinstance(exc.event_hint, RejectConnection) else RejectConnection()
        headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in hint.headers)
        if hint.status_code == 426:
            return Refusal(426, "unsupported_websocket_version", f"{exc}: this server speaks version 13",
                           headers)
        return Refusal(hint.status_code, "bad_websocket_upgrade", f"{exc}: {HOW}", headers)
    return None


async def serve_websocket(hub: Hub, replayer: Replayer, settings: StreamSettings, sock: socket.socket,
                          handshake: bytes, request: StreamRequest, ip: str,
                          recount: Callable[[], Awaitable[str | None]], *, handshake_timeout: float) -> None:
    """The edge admitted the request (a slot is taken); trio-websocket reads ``handshake`` (the
    upgrade request and whatever followed it) and answers it within ``handshake_timeout`` seconds,
    then the session runs until either side ends it.  The slot is released however it ends."""
    stream = replayed_stream(sock, handshake)
    try:
        async with trio.open_nursery() as nursery:
            with trio.move_on_after(handshake_timeout) as waited:
                ws = await (await wrap_server_stream(nursery, stream, max_message_size=MAX_MESSAGE_BYTES)).accept()
            if waited.cancelled_caught:
                log.info("websocket_handshake_failed", ip=ip, timeout_s=handshake_timeout)
            else:
                await WebSocketSession(ws, hub, replayer, settings, recount).run(request)
            nursery.cancel_scope.cancel()
    finally:
        hub.admission.release_nowait(ip)
        with trio.CancelScope(shield=True):
            await stream.aclose()
