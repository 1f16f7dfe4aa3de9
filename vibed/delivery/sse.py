"""One SSE request, from its admitted head to the moment the hub owns its socket (then the task ends).

Order matters for "no duplicate, no gap": register with the hub (paused, live frames queue up),
write the head, plan and write the replay from the database, then resume the client, dropping
queued frames the replay already covered.  The edge has parsed, guarded and admitted the request
and rendered the response head; what happens on the socket after it is this module's.
"""

from __future__ import annotations

import socket

import attrs
import trio

from vibed.delivery.client import SocketClient
from vibed.delivery.filters import StreamRequest
from vibed.delivery.frames import RETRY, event_frame, reset_frame
from vibed.delivery.hub import Hub
from vibed.delivery.replay import plan_replay
from vibed.logs import get_logger
from vibed.store.postgres import Database
from vibed.vocab.wire import send_all

log = get_logger("vibed.delivery")
RETRY_AFTER = "5"  # seconds a refused client should wait before trying again
REPLAY_BYTES = 1 << 20  # a replay larger than this is a reset instead: a reconnect never costs a flood
REPLAY_TIMEOUT_S = 2.0  # a replay the database cannot give by then ends the stream; the client comes back


@attrs.frozen
class StreamSettings:
    replay_cap: int = 1000
    backlog: int = 256


def admit_nowait(hub: Hub, ip: str) -> str | None:
    """None when the stream is admitted (the hub releases it when the stream ends), else why not."""
    return "the server is shutting down" if hub.closing else hub.admission.admit_nowait(ip)


def open_sse_nowait(hub: Hub, settings: StreamSettings, sock: socket.socket, head: bytes, chunked: bool,
                    request: StreamRequest, ip: str) -> bool:
    """A stream that needs no replay, opened without waiting (True): registered, then resumed with its
    head and ``retry:`` as the first bytes out; what the kernel does not take, the hub flushes.
    False: nothing was done, and ``serve_sse`` replays from the database."""
    if request.last_event_id is not None:
        return False
    client = SocketClient(sock, request.filter, chunked, ip, settings.backlog)
    hub.add_nowait(client)  # from here on the hub owns (and eventually closes) the socket
    client.pending = [(0, head + RETRY.wire(chunked))]  # nothing can be queued before it: no await since add
    hub.resume_nowait(client, 0)
    return True


async def serve_sse(hub: Hub, db: Database, settings: StreamSettings, sock: socket.socket, head: bytes,
                    chunked: bool, request: StreamRequest, ip: str) -> None:
    """``head``: the rendered 200 response head; ``chunked``: whether the body is chunked (HTTP/1.1)."""
    if open_sse_nowait(hub, settings, sock, head, chunked, request, ip):
        return
    client = SocketClient(sock, request.filter, chunked, ip, settings.backlog)
    hub.add_nowait(client)  # from here on the hub owns (and eventually closes) the socket
    try:
        await send_all(sock, head + RETRY.wire(chunked))
        with trio.fail_after(REPLAY_TIMEOUT_S):
            replay = await plan_replay(db, request.filter, request.last_event_id, settings.replay_cap)
        frames = [event_frame(e) for e in replay.events]
        reset = replay.reset
        if reset is None and sum(len(f.body) for f in frames) > REPLAY_BYTES:
            reset = f"the events since {request.last_event_id} are more than {REPLAY_BYTES >> 20} MiB: refetch the list"
        if reset is not None:
            log.info("stream_reset", last_event_id=request.last_event_id, reason=reset)
            frames = [reset_frame(replay.floor, reset)]
        if frames:
            await send_all(sock, b"".join(f.wire(chunked) for f in frames))
    except (OSError, trio.ClosedResourceError, trio.TooSlowError):
        # the peer left (or overflowed) during replay, or the database could not give it in time: the
        # stream ends, and the client's EventSource comes back with its Last-Event-ID, losing nothing
        hub.drop_nowait(client)
        return
    except BaseException:
        hub.drop_nowait(client)
        raise
    if not client.closed:
        hub.resume_nowait(client, replay.floor)
