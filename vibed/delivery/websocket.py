"""The WebSocket twin of the SSE stream: same events, filters and replay, one task per client.

A client may change its subscription on the open socket with
``{"subscribe": ["ml"], "source": ["jiosaavn"], "kind": ["album"], "last_event_id": 123}``
(all but ``subscribe`` optional); the server confirms with ``{"event": "subscribed", ...}``.
A malformed message is answered with ``{"error": ..., "detail": ...}`` and the socket stays open.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Awaitable, Callable
from typing import Any

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection, wrap_server_stream

from vibed.delivery.filters import (
    BadStreamRequest,
    StreamRequest,
    build_filter,
    parse_event_id,
)
from vibed.delivery.frames import ws_error, ws_event, ws_reset
from vibed.delivery.hub import Hub
from vibed.delivery.listener import Listener
from vibed.delivery.replay import Replay, plan_replay
from vibed.delivery.sse import StreamSettings
from vibed.store.postgres import Database
from vibed.vocab.messages import StoredEvent
from vibed.vocab.wire import replayed_stream


def _strings(value: Any, key: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise BadStreamRequest("bad_message", f"{key!r} must be a list of strings")


MAX_MESSAGE_BYTES = 4096  # a subscription is a few dozen bytes; larger frames end the socket (1009)
MAX_DEPTH = 8  # brackets deep: a subscription needs 2


def parse_ws_message(text: str | bytes) -> StreamRequest:
    if isinstance(text, bytes):
        raise BadStreamRequest("bad_message", "send JSON text frames, not binary")
    depth = deepest = 0
    for char in text:  # before json.loads: a deeply nested message must not reach the parser's recursion
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    if deepest > MAX_DEPTH:
        raise BadStreamRequest("bad_message", f"nested deeper than {MAX_DEPTH} levels")
    try:
        message = json.loads(text)
    except ValueError as exc:
        raise BadStreamRequest("bad_message", f"not JSON: {exc}") from None
    if not isinstance(message, dict) or "subscribe" not in message:
        raise BadStreamRequest("bad_message", 'expected {"subscribe": ["ml"], "last_event_id": 123}')
    stream_filter = build_filter(_strings(message["subscribe"], "subscribe"),
                                 _strings(message.get("source"), "source"), _strings(message.get("kind"), "kind"))
    last = message.get("last_event_id")
    return StreamRequest(stream_filter, None if last is None else parse_event_id(last, "last_event_id"))


@attrs.define(eq=False)
class WebSocketSession:
    ws: WebSocketConnection
    hub: Hub
    db: Database
    settings: StreamSettings
    recount: Callable[[], Awaitable[str | None]]  # the per-IP limit: None, or why not now
    last_sent: int = 0
    _pump: trio.CancelScope | None = None
    _listener: Listener | None = None

    async def run(self, first: StreamRequest) -> None:
        """Until the client leaves, the hub ends the subscription, or we are cancelled."""
        try:
            async with trio.open_nursery() as nursery:
                await self._subscribe(nursery, first)
                try:
                    while True:
                        text = await self.ws.get_message()
                        try:
                            request = parse_ws_message(text)
                        except BadStreamRequest as exc:
                            await self.ws.send_message(ws_error(exc.error, exc.detail))
                            continue
                        refusal = await self.recount()  # a re-subscription replays: it counts like a request
                        if refusal is not None:
                            await self.ws.send_message(ws_error("rate_limited", refusal))
                            continue
                        await self._subscribe(nursery, request)
                except ConnectionClosed:
                    pass
                nursery.cancel_scope.cancel()
        finally:
            if self._listener is not None:
                self.hub.unlisten_nowait(self._listener)

    async def _subscribe(self, nursery: trio.Nursery, request: StreamRequest) -> None:
        if self._pump is not None:  # the old subscription stops before the new replay is written
            self._pump.cancel()
            self.hub.unlisten_nowait(self._listener)  # type: ignore[arg-type]
        send, receive = trio.open_memory_channel[StoredEvent](self.settings.backlog)
        listener = self._listener = Listener(request.filter, send)
        self.hub.listen_nowait(listener)  # first, so nothing falls between replay and live
        if request.last_event_id is None:
            replay = Replay((), self.last_sent)
        else:
            replay = await plan_replay(self.db, request.filter, request.last_event_id, self.settings.replay_cap)
        if replay.reset is not None:
            await self.ws.send_message(ws_reset(replay.floor, replay.reset))
        for event in replay.events:
            await self.ws.send_message(ws_event(event))
        self.last_sent = listener.floor = replay.floor
        await self.ws.send_message(json.dumps({"event": "subscribed", "data": {
            "language": sorted(request.filter.languages or ()), "source": sorted(request.filter.sources or ()),
            "kind": sorted(request.filter.kinds or ()), "last_event_id": replay.floor}}))
        self._pump = await nursery.start(self._forward, listener, receive)

    async def _forward(self, listener: Listener, receive: trio.MemoryReceiveChannel[StoredEvent], *,
                       task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            try:
                async with receive:
                    async for event in receive:
                        if event.id > listener.floor:
                            await self.ws.send_message(ws_event(event))
                            self.last_sent = event.id
                # the hub ended us: too slow (1013 try again later) or shutting down (1001 going away)
                await self.ws.aclose(1013 if listener.ended == "slow" else 1001, listener.ended)
            except ConnectionClosed:
                pass


async def serve_websocket(hub: Hub, db: Database, settings: StreamSettings, sock: socket.socket,
                          handshake: bytes, request: StreamRequest, ip: str,
                          recount: Callable[[], Awaitable[str | None]]) -> None:
    """The edge admitted the request; trio-websocket reads ``handshake`` (the upgrade request and
    whatever followed it) and answers it, then the session runs until either side ends it."""
    stream = replayed_stream(sock, handshake)
    try:
        async with trio.open_nursery() as nursery:
            ws = await (await wrap_server_stream(nursery, stream, max_message_size=MAX_MESSAGE_BYTES)).accept()
            await WebSocketSession(ws, hub, db, settings, recount).run(request)
            await ws.aclose()
            nursery.cancel_scope.cancel()
    finally:
        hub.admission.release_nowait(ip)
        with trio.CancelScope(shield=True):
            await stream.aclose()
