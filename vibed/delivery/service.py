"""``open_delivery``: the hub, the sequencer and the bus of one instance, opened together.

    async with open_delivery(config, db) as delivery:
        nursery.start_soon(delivery.broadcaster.run, stored_events_inbox)
        # the edge (vibed/edge) hands stream requests to ``delivery.hub``
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Sequence

import attrs
import trio

from vibed.config import Config
from vibed.delivery.admission import Admission
from vibed.delivery.broadcaster import Broadcaster
from vibed.delivery.hub import Hub
from vibed.delivery.redis_feed import RedisFeed
from vibed.delivery.replay import Replayer
from vibed.delivery.ring import RecentEvents
from vibed.delivery.sequencer import Sequencer
from vibed.delivery.sse import StreamSettings
from vibed.delivery.watch_changes import WatchChanges
from vibed.delivery.watch_lookups import WatchLookups
from vibed.health import BusHealth, DeliveryHealth, RecentHealth, ReplayHealth, StreamsHealth
from vibed.store import watches
from vibed.store.postgres import Database
from vibed.store.redis import open_redis
from vibed.supervisor import Supervisor
from vibed.vocab.messages import StoredEvent


@attrs.frozen
class BusTiming:
    """How quickly the Redis leg notices and recovers (tests shorten these)."""

    poll_interval: float = 1.0  # database poll while Redis is down
    ping_interval: float = 5.0  # round trip that proves the subscription delivers
    ping_timeout: float = 3.0
    max_backoff: float = 5.0  # reconnect back-off cap
    sweep_interval: float = 5.0  # database sweep for committed events nobody announced (Sequencer)


@attrs.define(eq=False)
class Delivery:
    hub: Hub
    sequencer: Sequencer
    broadcaster: Broadcaster
    feed: RedisFeed | None
    db: Database
    settings: StreamSettings
    replayer: Replayer
    changes: WatchChanges  # a watch's edit or deletion reaches the streams open on it

    def health(self) -> DeliveryHealth:
        """The bus (the in-process one is always ok) and the stream clients of this instance."""
        bus = self.feed.health() if self.feed is not None else BusHealth("local", "ok")
        stats = self.hub.statistics()
        replay = self.replayer.statistics()
        return DeliveryHealth(bus, StreamsHealth(
            sse=stats.sse_clients, websocket=stats.ws_clients, max=self.hub.admission.max_streams,
            slow_disconnects=stats.slow_drops, last_event_id=self.sequencer.last_id,
            replay=ReplayHealth(from_memory=replay.from_memory, database_queries=replay.database_queries,
                                coalesced=replay.coalesced, waiting=replay.waiting),
            recent=RecentHealth(events=len(self.hub.ring), floor=self.hub.ring.floor)))


@contextlib.asynccontextmanager
async def open_delivery(config: Config, db: Database, *, timing: BusTiming = BusTiming()) -> AsyncIterator[Delivery]:
    """Uses ``config.heartbeat``, ``replay_cap``, ``replay_ring_*``, ``client_backlog``, ``max_streams``,
    ``stream_limit_per_ip`` and ``redis_url`` (None = the in-process bus)."""
    admission = Admission.from_config(config.max_streams, config.stream_limit_per_ip)
    hub = Hub(admission, heartbeat=config.heartbeat, backlog=config.client_backlog,
              stall_timeout=config.stream_stall_timeout,
              ring=RecentEvents(config.replay_ring_events, config.replay_ring_mib << 20))
    sequencer = Sequencer(hub, db)
    await sequencer.start_after_newest()
    settings = StreamSettings(replay_cap=config.replay_cap, backlog=config.client_backlog,
                              resolve_watch=WatchLookups(functools.partial(watches.resolve, db)))
    replayer = Replayer(db, hub.ring, cap=config.replay_cap)
    async with contextlib.AsyncExitStack() as stack, trio.open_nursery() as nursery:
        await nursery.start(hub.serve)
        await nursery.start(replayer.serve)
        await nursery.start(sequencer.serve_sweeping, timing.sweep_interval)
        feed = None
        if config.redis_url:
            link = await stack.enter_async_context(open_redis(config.redis_url))
            feed = RedisFeed(link, sequencer, poll_interval=timing.poll_interval,
                             ping_interval=timing.ping_interval, ping_timeout=timing.ping_timeout,
                             max_backoff=timing.max_backoff)
        changes = WatchChanges(hub, functools.partial(watches.resolve, db),
                               announce=feed.publish_watch_nowait if feed is not None else None,
                               resolve_all=functools.partial(watches.resolve_all, db))
        hub.on_watched = changes.joined_nowait
        await nursery.start(changes.serve)
        if feed is not None:
            feed.on_watch_changed = changes.apply
            feed.on_subscribed = changes.resync
            await nursery.start(feed.run)
        yield Delivery(hub, sequencer, Broadcaster(sequencer, feed), feed, db, settings, replayer, changes)
        nursery.cancel_scope.cancel()


async def serve_delivery(config: Config, db: Database, *, timing: BusTiming = BusTiming(),
                         task_status: trio.TaskStatus[Delivery] = trio.TASK_STATUS_IGNORED) -> None:
    """``open_delivery`` as a task for a nursery: ``started(delivery)``, runs until cancelled."""
    async with open_delivery(config, db, timing=timing) as delivery:
        task_status.started(delivery)
        await trio.sleep_forever()


@attrs.define(eq=False)
class DeliveryService:
    """The delivery of one process as the composition root holds it: the broadcaster takes the
    writer's committed events from ``inbox`` and hands them to the hub (and Redis)."""

    delivery: Delivery
    inbox: trio.MemorySendChannel[tuple[StoredEvent, ...]]  # the writer sends clones of it
    _sup: Supervisor

    def health(self) -> DeliveryHealth:
        return self.delivery.health()

    async def reconfigure(self, config: Config) -> None:
        """The per-IP stream limit, the heartbeat and the stall timeout, live."""
        hub = self.delivery.hub
        hub.admission.per_ip = config.stream_limit_per_ip
        hub.heartbeat, hub.stall_timeout = config.heartbeat, config.stream_stall_timeout

    async def drain(self) -> None:
        await self.inbox.aclose()
        await self._sup.wait_finished(["broadcaster"])


async def open_delivery_service(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database,
                                on_published: Callable[[Sequence[StoredEvent]], None]) -> DeliveryService:
    """``serve_delivery`` in ``nursery`` and the broadcaster under ``sup``; ``on_published`` hears each
    batch the hub delivered (from this or another instance)."""
    delivery: Delivery = await nursery.start(serve_delivery, config, db)
    if not config.serves:
        delivery.hub.admission.max_streams = 0  # a fetch process holds no stream: ask a serve process
    delivery.hub.on_published = on_published
    stored_s, stored_r = trio.open_memory_channel[tuple[StoredEvent, ...]](64)  # the broadcaster never blocks
    await sup.start(nursery, "broadcaster", lambda task_status: delivery.broadcaster.run(
        stored_r.clone(), task_status=task_status))
    return DeliveryService(delivery, stored_s, sup)
