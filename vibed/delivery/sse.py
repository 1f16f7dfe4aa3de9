"""One SSE request, from its head to the moment the hub owns its socket (then the task ends).

Order matters for "no duplicate, no gap": register with the hub (paused, live frames queue up),
write the head, plan and write the replay from the database, then resume the client, dropping
queued frames the replay already covered.
"""

from __future__ import annotations

import socket

import attrs
import h11
import trio

from vibed.delivery.client import SocketClient
from vibed.delivery.filters import BadStreamRequest, StreamRequest, parse_stream_request
from vibed.delivery.frames import RETRY, event_frame, http_response, reset_frame, stream_head
from vibed.delivery.hub import Hub
from vibed.delivery.replay import plan_replay
from vibed.delivery.wire import RequestHead, send_all
from vibed.logs import get_logger
from vibed.store.postgres import Database

log = get_logger("vibed.delivery")
RETRY_AFTER = "5"  # seconds a refused client should wait before trying again


@attrs.frozen
class StreamSettings:
    replay_cap: int = 1000
    backlog: int = 256


async def refuse(sock: socket.socket, conn: h11.Connection, status: int, error: str, detail: str) -> None:
    headers = [("Retry-After", RETRY_AFTER)] if status == 503 else []
    try:
        await send_all(sock, http_response(conn, status, {"error": error, "detail": detail}, headers))
    except OSError:
        pass
    finally:
        sock.close()


def admit_nowait(hub: Hub, ip: str) -> str | None:
    """None when the stream is admitted (release it later), else why it is refused."""
    return "the server is shutting down" if hub.closing else hub.admission.admit_nowait(ip)


async def accept_stream(hub: Hub, sock: socket.socket, head: RequestHead, ip: str) -> StreamRequest | None:
    """Parse and admit a stream request; answer 400/503 and return None when it cannot be served."""
    try:
        request = parse_stream_request(head.query, head.headers)
    except BadStreamRequest as exc:
        await refuse(sock, head.conn, 400, exc.error, exc.detail)
        return None
    refusal = admit_nowait(hub, ip)
    if refusal is not None:
        await refuse(sock, head.conn, 503, "too many streams", refusal)
        return None
    return request


async def serve_sse(hub: Hub, db: Database, settings: StreamSettings, sock: socket.socket,
                    head: RequestHead, ip: str) -> None:
    request = await accept_stream(hub, sock, head, ip)
    if request is None:
        return
    head_bytes, chunked = stream_head(head.conn)
    client = SocketClient(sock, request.filter, chunked, ip, settings.backlog)
    hub.add_nowait(client)  # from here on the hub owns (and eventually closes) the socket
    try:
        await send_all(sock, head_bytes + RETRY.wire(chunked))
        replay = await plan_replay(db, request.filter, request.last_event_id, settings.replay_cap)
        if replay.reset is not None:
            log.info("stream_reset", last_event_id=request.last_event_id, reason=replay.reset)
            frames = [reset_frame(replay.floor, replay.reset)]
        else:
            frames = [event_frame(e) for e in replay.events]
        if frames:
            await send_all(sock, b"".join(f.wire(chunked) for f in frames))
    except (OSError, trio.ClosedResourceError):  # the peer left (or overflowed) during replay
        hub.drop_nowait(client)
        return
    except BaseException:
        hub.drop_nowait(client)
        raise
    if not client.closed:
        hub.resume_nowait(client, replay.floor)
