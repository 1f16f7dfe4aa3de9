"""The WebSocket twin of the SSE stream: same events, filters, replay and caps, one task per client.

A client may change its subscription on the open socket (see ``messages.py``); the server confirms
each with ``{"event": "subscribed", "data": {..., "last_event_id": N}}``, where N is the id to resume
from: the replay's last id, or for a live-only subscription the newest event delivered.  Order
matters for "no duplicate, no gap", as in ``sse.py``: listen first, then read the resume point or
replay, then forward live events above it.  A malformed message is answered with
``{"error": ..., "detail": ...}`` and the socket stays open.  A ``{"watch": id}`` subscription is
resolved when it is sent (an unknown one is ``{"error": "not_found"}``); a later edit of the watch
changes the open subscription's filter from the next event on and is confirmed like a subscription, by a
new ``subscribed`` message (its filter, and the newest id as the resume point) in order with the events:
those after it obey the new filter.  Its deletion closes the socket (1000, "the watch was deleted"): see
``vibed/delivery/watch_changes.py``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import attrs
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from vibed.delivery.filters import BadStreamRequest, StreamRequest, resolved
from vibed.delivery.frames import ws_error, ws_event, ws_reset, ws_subscribed
from vibed.delivery.hub import Hub
from vibed.delivery.listener import Listener, Refiltered
from vibed.delivery.replay import Replay, Replayer, ReplayUnavailable
from vibed.delivery.sse import StreamSettings
from vibed.logs import get_logger
from vibed.vocab.messages import StoredEvent
from vibed.vocab.watch_ref import UnknownWatch
from vibed.websocket.messages import parse_ws_message

log = get_logger("vibed.delivery")
# why the hub ended a subscription -> the close: too slow (1013 try again later), the watch it followed
# deleted (1000: nothing more will come; a reconnection is refused), else shutting down (1001 going away)
_CLOSES = {"slow": (1013, "slow"), "watch_deleted": (1000, "the watch was deleted")}


@attrs.define(eq=False)
class WebSocketSession:
    """One client's socket: replay, then live events; pings at the hub's heartbeat.

    Every message and ping must be written (and the ping answered) within the hub's
    ``stall_timeout``: a client that stops reading, or whose pong never comes, is dropped then, like
    an SSE client whose send queue stopped shrinking, and ``serve_websocket`` releases its slot.
    """

    ws: WebSocketConnection
    hub: Hub
    replayer: Replayer  # the SSE streams' too: memory first, one shared query otherwise
    settings: StreamSettings
    recount: Callable[[], Awaitable[str | None]]  # the per-IP limit: None, or why not now
    last_sent: int = 0
    _pump: trio.CancelScope | None = None
    _listener: Listener | None = None
    _session: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    async def run(self, first: StreamRequest) -> None:
        """Until the client leaves, stalls, the hub ends the subscription, or we are cancelled."""
        try:
            with self._session:
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self._keepalive)
                    try:
                        await self._subscribe(nursery, first)
                        await self._read(nursery)
                    except trio.TooSlowError:  # here, not outside: a nursery wraps what leaves it
                        self._stalled()
                    except ReplayUnavailable as exc:  # the database is really down: come back later
                        log.warning("stream_replay_unavailable", kind="websocket", error=str(exc))
                        await self.ws.aclose(1013, "the replay is unavailable: reconnect with last_event_id")
                    except ConnectionClosed:
                        pass
                    nursery.cancel_scope.cancel()
                await self.ws.aclose()  # at once: the reader saw the close already
        except trio.TooSlowError:
            self._stalled()
        finally:
            if self._listener is not None:
                self.hub.unlisten_nowait(self._listener)

    async def _read(self, nursery: trio.Nursery) -> None:
        try:
            while True:
                text = await self.ws.get_message()
                try:
                    request = await resolved(parse_ws_message(text), self.settings.resolve_watch)
                except BadStreamRequest as exc:
                    await self._send(ws_error(exc.error, exc.detail))
                    continue
                except UnknownWatch as exc:
                    await self._send(ws_error("not_found", exc.detail))
                    continue
                except OSError:  # DatabaseUnavailable: the watch could not be read now
                    await self._send(ws_error("unavailable", "the watch could not be read now; send it again"))
                    continue
                refusal = await self.recount()  # a re-subscription replays: it counts like a request
                if refusal is not None:
                    await self._send(ws_error("rate_limited", refusal))
                    continue
                await self._subscribe(nursery, request)
        except ConnectionClosed:
            pass

    async def _send(self, text: str) -> None:
        """One message; TooSlowError when the peer has not taken it within the stall timeout."""
        with trio.fail_after(self.hub.stall_timeout):
            await self.ws.send_message(text)

    def _stalled(self) -> None:
        log.info("stream_stalled", kind="websocket", last_event_id=self.last_sent)
        self._session.cancel()

    async def _subscribe(self, nursery: trio.Nursery, request: StreamRequest) -> None:
        if self._pump is not None:  # the old subscription stops before the new replay is written
            self._pump.cancel()
            self.hub.unlisten_nowait(self._listener)  # type: ignore[arg-type]
        send, receive = trio.open_memory_channel[StoredEvent | Refiltered](self.settings.backlog)
        listener = self._listener = Listener(request.filter, send, watch=request.watched, asked_at=request.asked_at)
        self.hub.listen_nowait(listener)  # first, so nothing falls between replay and live
        # live only: it resumes after the newest event delivered (the ring's newest is the hub's)
        replay = await self.replayer.plan(request.filter, request.last_event_id)
        for message in replay_messages(replay, request.last_event_id):
            await self._send(message)
        self.last_sent = listener.floor = replay.floor
        await self._send(ws_subscribed(request.filter, replay.floor))
        self._pump = await nursery.start(self._forward, listener, receive)

    async def _forward(self, listener: Listener, receive: trio.MemoryReceiveChannel[StoredEvent | Refiltered], *,
                       task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            try:
                async with receive:
                    async for event in receive:
                        if isinstance(event, Refiltered):  # the watch was edited: say what comes now
                            # the resume point never goes back (a replay may have gone past the change)
                            await self._send(ws_subscribed(event.filter, max(event.last_event_id, self.last_sent)))
                        elif event.id > listener.floor:
                            await self._send(ws_event(event))
                            self.last_sent = event.id
                # the hub ended us (``_CLOSES``). Once the close frame is out, the reading loop ends the
                # session: no wait for the reply
                await self.ws.aclose(*_CLOSES.get(listener.ended or "", (1001, listener.ended)))
            except trio.TooSlowError:
                self._stalled()
            except ConnectionClosed:
                pass
            self._session.cancel()  # the pump ended: so does the session

    async def _keepalive(self) -> None:
        """A ping each heartbeat (idle proxies keep the socket); no pong within the stall timeout = gone."""
        try:
            while True:
                await trio.sleep(self.hub.heartbeat)
                with trio.fail_after(self.hub.stall_timeout):
                    await self.ws.ping()
        except trio.TooSlowError:
            self._stalled()
        except ConnectionClosed:
            self._session.cancel()


def replay_messages(replay: Replay, last_event_id: int | None) -> list[str]:
    """The replay as messages, or one ``reset`` when the replayer could not cover the gap (unknown
    or future id, over the count or the byte cap: the same rules as SSE)."""
    if replay.reset is None:
        return [ws_event(e) for e in replay.events]
    log.info("stream_reset", kind="websocket", last_event_id=last_event_id, reason=replay.reset)
    return [ws_reset(replay.floor, replay.reset)]
