"""The Redis leg of the bus: publish our events, deliver everyone's, survive Redis going away.

One channel (``vibed:events``); a message is the JSON of a ``StoredEvent``, a ping, or a watch's change
(``{"watch_changed": id}``: the receiver's ``on_watch_changed`` re-reads that watch for its open streams).
Each time the subscription opens, ``on_subscribed`` runs before any message is read: what was missed
meanwhile (a watch changed while Redis was down) is read again, as ``sequencer.catch_up`` does for events,
and our own watch notices that could not be published then are published now (the other instances'
subscriptions may never have been lost, so they would not re-read).  While
the subscription is not proven, the feed is *degraded*: the database is polled every
``poll_interval`` for events with id > the sequencer's ``last_id``, and Redis is retried with
capped, jittered back-off.  A ping published every ``ping_interval`` must come back within
``ping_timeout``, or the subscription is considered dead and re-opened.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import attrs
import trio

from vibed.delivery.sequencer import Sequencer
from vibed.health import BusHealth, without_addresses
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.store.redis import RedisLink, RedisUnavailable
from vibed.vocab.backoff import jittered
from vibed.vocab.messages import StoredEvent

log = get_logger("vibed.bus")
CHANNEL = "vibed:events"
UNSENT_MOST = 4096  # watch notices kept while Redis is away (ids: a few hundred KiB at most)


def encode_event(e: StoredEvent) -> bytes:
    return json.dumps({
        "id": e.id, "kind": e.kind, "release_id": e.release_id, "source": e.source, "language": e.language,
        "release_kind": e.release_kind, "payload": dict(e.payload),
        "created_at": e.created_at.isoformat() if e.created_at else None,
    }, separators=(",", ":"), default=str).encode()


def decode_event(m: dict[str, Any]) -> StoredEvent:
    created = dt.datetime.fromisoformat(m["created_at"]) if m.get("created_at") else None
    return StoredEvent(id=int(m["id"]), kind=m["kind"], release_id=m["release_id"], source=m["source"],
                       language=m["language"], release_kind=m["release_kind"], payload=m["payload"],
                       created_at=created)


@attrs.define(eq=False)
class RedisFeed:
    link: RedisLink
    sequencer: Sequencer
    poll_interval: float = 1.0
    ping_interval: float = 5.0
    ping_timeout: float = 3.0
    max_backoff: float = 5.0
    state: Literal["ok", "degraded"] = "degraded"
    error: str | None = "not subscribed yet"
    since: float = attrs.field(factory=trio.current_time)
    reconnects: int = 0
    round_trip_ms: float | None = None
    sent: int = 0  # messages published, since start
    unpublished: int = 0  # messages that could not be published (Redis down, or the outbox full), since start
    on_watch_changed: Callable[[str], Awaitable[None]] | None = None  # another instance changed a watch
    on_subscribed: Callable[[], Awaitable[None]] | None = None  # (re)subscribed: notices may have been lost
    _token: str = attrs.field(factory=lambda: uuid.uuid4().hex)
    _pongs: dict[str, trio.Event] = attrs.field(factory=dict)
    _poll_outage: Outage = attrs.field(factory=lambda: Outage(log, "bus_poll_failed"))
    _subscription_scope: trio.CancelScope | None = None
    _subscribed: bool = False
    # (message, the watch it announces or None); full = Redis is slow: others poll
    _outbox: tuple[trio.MemorySendChannel[tuple[bytes, str | None]],
                   trio.MemoryReceiveChannel[tuple[bytes, str | None]]] = attrs.field(
        factory=lambda: trio.open_memory_channel[tuple[bytes, str | None]](1024))
    _unsent: dict[str, None] = attrs.field(factory=dict)  # watches whose notice could not go out, oldest first

    def health(self) -> BusHealth:
        """The bus as health shows it; Redis's errors quote its address, which stays private."""
        return BusHealth("redis", self.state, without_addresses(self.error), self.reconnects,
                         round(trio.current_time() - self.since, 1), self.round_trip_ms)

    def publish_nowait(self, events: tuple[StoredEvent, ...]) -> None:
        for event in events:
            try:
                self._outbox[0].send_nowait((encode_event(event), None))
            except trio.WouldBlock:
                self.unpublished += 1
                log.warning("bus_publish_dropped", id=event.id, reason="redis outbox full")

    def publish_watch_nowait(self, watch_id: str) -> None:
        """Tell the other instances that watch ``watch_id`` changed (our own echo is ignored).  A notice
        that cannot go out now is published again when our subscription next opens (Redis is back)."""
        try:
            self._outbox[0].send_nowait((json.dumps({"watch_changed": watch_id, "from": self._token}).encode(),
                                         watch_id))
        except trio.WouldBlock:
            self._not_sent(watch_id)

    def _not_sent(self, watch_id: str) -> None:
        self.unpublished += 1
        self._unsent.pop(watch_id, None)
        self._unsent[watch_id] = None
        if len(self._unsent) > UNSENT_MOST:  # the oldest is forgotten: its streams see it on reconnection
            del self._unsent[next(iter(self._unsent))]
            log.warning("bus_publish_dropped", reason="too many watch notices waiting for redis")

    def _set_state(self, state: Literal["ok", "degraded"], error: str | None = None) -> None:
        if state != self.state:
            if state == "degraded":
                log.warning("bus_degraded", error=error)
            else:
                log.info("bus_ok")
            self.since = trio.current_time()
        self.state, self.error = state, error

    async def run(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(self._publish_loop)
            nursery.start_soon(self._poll_while_degraded)
            nursery.start_soon(self._ping_loop)
            task_status.started()
            await self._subscribe_forever()

    async def _subscribe_forever(self) -> None:
        backoff = 0.1
        while True:
            with trio.CancelScope() as self._subscription_scope:
                try:
                    async with self.link.open_subscription(CHANNEL) as sub:
                        self._subscribed = True
                        self._set_state("ok")
                        backoff = 0.1
                        unsent, self._unsent = list(self._unsent), {}  # Redis is back: announce them now
                        for watch_id in unsent:
                            self.publish_watch_nowait(watch_id)
                        if self.on_subscribed is not None:  # the watches' notices missed meanwhile, first:
                            await self.on_subscribed()  # the events caught up and after meet the new filters
                        await self.sequencer.catch_up()  # what was published while we were away
                        while True:
                            raw = await sub.next_message(timeout=1.0)
                            if raw is not None:
                                await self._handle(raw)
                except RedisUnavailable as exc:
                    self._set_state("degraded", str(exc))
                except Exception as exc:  # the database failed a gap fill: resubscribe, never die
                    log.exception("bus_delivery_failed", error=str(exc)[:200])
                    self._set_state("degraded", f"delivery failed: {str(exc)[:200]}")
                finally:
                    self._subscribed = False
            if self._subscription_scope.cancelled_caught:
                self._set_state("degraded", "ping did not come back")
            self.reconnects += 1
            await trio.sleep(jittered(backoff, 0.5, 1.5))
            backoff = min(backoff * 2, self.max_backoff)

    async def _handle(self, raw: bytes) -> None:
        try:
            message = json.loads(raw)
            if "ping" in message:
                pong = self._pongs.get(message["ping"])
                if pong is not None:
                    pong.set()
                return
            if "watch_changed" in message:
                await self._watch_changed(message)
                return
            event = decode_event(message)
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("bus_message_invalid", error=str(exc)[:200])
            return
        await self.sequencer.deliver((event,))

    async def _watch_changed(self, message: dict[str, Any]) -> None:
        watch_id = message["watch_changed"]
        if message.get("from") != self._token and isinstance(watch_id, str) and self.on_watch_changed is not None:
            await self.on_watch_changed(watch_id)  # before the events after it: they meet the new filter

    async def _publish_loop(self) -> None:
        async for message, watch_id in self._outbox[1]:
            try:
                await self.link.publish(CHANNEL, message)
                self.sent += 1
            except RedisUnavailable as exc:  # others find it in the database (poll, gap fill or resync)
                if watch_id is not None:
                    self._not_sent(watch_id)  # published again once our subscription opens
                else:
                    self.unpublished += 1
                self._set_state("degraded", str(exc))

    async def _poll_while_degraded(self) -> None:
        while True:
            await trio.sleep(self.poll_interval)
            if self.state != "ok":
                try:
                    await self.sequencer.catch_up()
                except Exception as exc:  # database down too: keep trying, the poll is the fallback
                    self._poll_outage.failed(error=str(exc)[:200])
                else:
                    self._poll_outage.succeeded()

    async def _ping_loop(self) -> None:
        seq = 0
        while True:
            await trio.sleep(self.ping_interval)
            if not self._subscribed:
                continue
            seq += 1
            token = f"{self._token}:{seq}"
            pong = self._pongs[token] = trio.Event()
            started = trio.current_time()
            try:
                with trio.move_on_after(self.ping_timeout):
                    await self.link.publish(CHANNEL, json.dumps({"ping": token}).encode())
                    await pong.wait()
            except RedisUnavailable as exc:
                self._set_state("degraded", str(exc))
            finally:
                del self._pongs[token]
            if pong.is_set():  # the subscription delivers: proven, whatever a publish said before
                self.round_trip_ms = round((trio.current_time() - started) * 1000, 1)
                self._set_state("ok")
            elif self._subscription_scope is not None:
                self._subscription_scope.cancel()
