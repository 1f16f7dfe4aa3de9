"""One SSE request, from its admitted head to the moment the hub owns its socket (then the task ends).

Order matters for "no duplicate, no gap": register with the hub (paused, live frames queue up),
plan the replay, then resume the client with the replay's bytes first, dropping queued frames
the replay already covered.  A replay memory can give (live-only included) is planned with no
await after the registration and written without waiting: the head, a ``retry:`` of its own
(handed out in turn from delays drawn at start, ``OPENING_RETRIES``), the replayed frames and the
stream's resume point (``id: N``) go out as one write, and whatever the kernel does not take is the hub's to flush.  A replay from the database writes the
head at once, waits its turn (``replay.py``), and only a database that cannot answer ends it.

Every stream carries a resume point from its first bytes: a browser that reconnects before its
first event still sends ``Last-Event-ID`` and is owed what was published while it was away.
"""

from __future__ import annotations

import socket

import attrs
import trio

from vibed.delivery.client import SocketClient
from vibed.delivery.filters import StreamRequest, WatchResolver, no_watches
from vibed.delivery.frames import DRAIN_RETRY_MS, reset_frame, resume_frame, retry_frame, retry_frames
from vibed.delivery.hub import Hub
from vibed.delivery.replay import Replay, Replayer, ReplayUnavailable
from vibed.logs import get_logger
from vibed.vocab.wire import send_all

log = get_logger("vibed.delivery")
RETRY_AFTER = "5"  # seconds a refused client should wait before trying again
OPENING_RETRIES = retry_frames()  # each new stream's ``retry:``, in turn: 1,024 delays drawn at start


@attrs.frozen
class StreamSettings:
    replay_cap: int = 1000
    backlog: int = 256
    resolve_watch: WatchResolver = no_watches  # ``?watch=`` and a WebSocket's {"watch"}: the store's lookup


def admit_nowait(hub: Hub, ip: str) -> str | None:
    """None when the stream is admitted (the hub releases it when the stream ends), else why not."""
    return "the server is shutting down" if hub.closing else hub.admission.admit_nowait(ip)


def come_back_later(reason: str, at_least_s: int = 0) -> bytes:
    """The body of a stream we cannot hold now, for a 200 that ends at once.  A browser's
    EventSource gives up for good on any other status; on a 200 that ends it reconnects after
    ``retry:``, drawn here from a wide range (starting no sooner than ``at_least_s``, a limiter's
    Retry-After) so a refused crowd comes back spread out."""
    comment = reason.replace("\r", " ").replace("\n", " ")
    low, high = DRAIN_RETRY_MS
    spread = (max(low, at_least_s * 1000), max(high, at_least_s * 1000 + high - low))
    return b": %s\n\n" % comment.encode() + retry_frame(spread).body


# a crowd reconnecting between two events shares one ``Replay`` (see ``Replayer.plan_nowait``): its
# bytes are joined once per framing, and every client sends the same object
_joined: dict[tuple[int, bool], tuple[Replay, tuple[int, bytes]]] = {}


def _replay_wire(replay: Replay, last_id: int | None, chunked: bool) -> tuple[int, bytes]:
    """The replay as one write: its events, or a reset, and the resume point; with the last id."""
    held = _joined.get((id(replay), chunked))
    if held is not None and held[0] is replay:
        return held[1]
    if replay.reset is not None:
        log.info("stream_reset", last_event_id=last_id, reason=replay.reset)
        frames = [reset_frame(replay.floor, replay.reset)]
    else:
        frames = list(replay.frames)
        if replay.floor != (frames[-1].id if frames else last_id):
            frames.append(resume_frame(replay.floor))  # a resume point past what matched
    wire = (max((f.id for f in frames), default=0), b"".join(f.wire(chunked) for f in frames))
    if len(_joined) > 256:
        _joined.clear()
    _joined[(id(replay), chunked)] = (replay, wire)
    return wire


def open_sse_nowait(hub: Hub, replayer: Replayer, settings: StreamSettings, sock: socket.socket, head: bytes,
                    chunked: bool, request: StreamRequest, ip: str) -> SocketClient | None:
    """Register the stream and, when memory can give its replay (live-only included), write it all
    without waiting: None, the hub owns the stream.  Otherwise the registered client, paused, whose
    replay from the database ``replay_sse`` writes."""
    client = SocketClient(sock, request.filter, chunked, ip, settings.backlog, watch=request.watched,
                          asked_at=request.asked_at)
    hub.add_nowait(client)  # from here on the hub owns (and eventually closes) the socket
    last_id = request.last_event_id
    replay = replayer.plan_nowait(request.filter, last_id)
    if replay is None:
        return client
    # nothing was published since add_nowait: nothing is queued
    hub.resume_nowait(client, replay.floor, [(0, head + next(OPENING_RETRIES).wire(chunked)),
                                             _replay_wire(replay, last_id, chunked)])
    return None


async def replay_sse(hub: Hub, replayer: Replayer, client: SocketClient, head: bytes, request: StreamRequest) -> None:
    """The rest of a stream ``open_sse_nowait`` left registered: its head at once, then its replay
    from the database when its turn comes."""
    last_id = request.last_event_id
    try:
        await send_all(client.sock, head + next(OPENING_RETRIES).wire(client.chunked))
        replay = await replayer.plan(request.filter, last_id)
    except ReplayUnavailable as exc:
        # the last resort, for a database that is really down: the stream ends with a spread-out
        # retry, and the client's EventSource comes back with its Last-Event-ID, losing nothing
        log.warning("stream_replay_unavailable", last_event_id=last_id, error=str(exc))
        hub.end_nowait(client, retry_frame(DRAIN_RETRY_MS))
        return
    except (OSError, trio.ClosedResourceError):  # the peer left while it waited
        hub.drop_nowait(client)
        return
    except BaseException:
        hub.drop_nowait(client)
        raise
    if not client.closed:
        hub.resume_nowait(client, replay.floor, [_replay_wire(replay, last_id, client.chunked)])
