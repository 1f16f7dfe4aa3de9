"""The SSE stream for a request that reaches Hypercorn instead of the gateway.

The gateway routes by the *first* request of a connection.  A browser (or any keep-alive client)
that loaded the page or the list over a connection and then opens its EventSource may reuse that
connection, which Hypercorn already owns.  Those requests are served here, with the same filters,
replay, frames and admission, through a hub ``Listener`` and one task per client: correct for every
client, while fresh connections keep the gateway's task-free fast path.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import trio
from quart import Blueprint, Response, current_app, request

from vibed.delivery.filters import BadStreamRequest, parse_stream_request
from vibed.delivery.frames import HEARTBEAT, RETRY, event_frame, reset_frame
from vibed.delivery.listener import Listener
from vibed.delivery.replay import plan_replay
from vibed.delivery.sse import admit_nowait
from vibed.http.errors import ApiError
from vibed.messages import StoredEvent

blueprint = Blueprint("stream_fallback", __name__)


def register(app: Any) -> None:
    app.register_blueprint(blueprint)


@blueprint.get("/api/new-releases/stream")
@blueprint.get("/api/new-releases/events")
async def stream():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    delivery = runtime.parts["delivery"]
    hub, settings = delivery.hub, delivery.settings
    headers = {k.lower(): v for k, v in request.headers.items()}
    try:
        parsed = parse_stream_request(request.query_string.decode("latin-1"), headers)
    except BadStreamRequest as exc:
        raise ApiError(400, exc.error, exc.detail) from None
    ip = request.remote_addr or "?"
    refusal = admit_nowait(hub, ip)
    if refusal is not None:
        raise ApiError(503, "too_many_streams", refusal, {"Retry-After": "5"})
    send, receive = trio.open_memory_channel[StoredEvent](settings.backlog)
    listener = Listener(parsed.filter, send)
    hub.listen_nowait(listener)  # before the replay, so nothing falls between replay and live
    try:
        replay = await plan_replay(delivery.db, parsed.filter, parsed.last_event_id, settings.replay_cap)
    except BaseException:
        hub.unlisten_nowait(listener)
        hub.admission.release_nowait(ip)
        raise
    listener.floor = replay.floor

    async def frames() -> AsyncIterator[bytes]:
        try:
            yield RETRY.body
            if replay.reset is not None:
                yield reset_frame(replay.floor, replay.reset).body
            for event in replay.events:
                yield event_frame(event).body
            async with receive:
                while True:
                    with trio.move_on_after(hub.heartbeat) as idle:
                        event = await receive.receive()
                    if idle.cancelled_caught:
                        yield HEARTBEAT.body
                        continue
                    if event.id > listener.floor:
                        yield event_frame(event).body
        except trio.EndOfChannel:  # the hub ended us (too slow, or shutting down)
            return
        finally:
            hub.unlisten_nowait(listener)
            hub.admission.release_nowait(ip)

    response = Response(frames(), status=200, content_type="text/event-stream; charset=utf-8")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    response.timeout = None  # a stream has no end
    return response
