"""``open_delivery``: the hub, the sequencer and the bus of one instance, opened together.

    async with open_delivery(config, db) as delivery:
        nursery.start_soon(delivery.broadcaster.run, stored_events_inbox)
        # the edge (vibed/edge) hands stream requests to ``delivery.hub``
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

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
from vibed.health import BusHealth, DeliveryHealth, StreamsHealth
from vibed.store.postgres import Database
from vibed.store.redis import open_redis


@attrs.frozen
class BusTiming:
    """How quickly the Redis leg notices and recovers (tests shorten these)."""

    poll_interval: float = 1.0  # database poll while Redis is down
    ping_interval: float = 5.0  # round trip that proves the subscription delivers
    ping_timeout: float = 3.0
    max_backoff: float = 5.0  # reconnect back-off cap


@attrs.define(eq=False)
class Delivery:
    hub: Hub
    sequencer: Sequencer
    broadcaster: Broadcaster
    feed: RedisFeed | None
    db: Database
    settings: StreamSettings
    replayer: Replayer

    def health(self) -> DeliveryHealth:
        """The bus (the in-process one is always ok) and the stream clients of this instance."""
        bus = self.feed.health() if self.feed is not None else BusHealth("local", "ok")
        stats = self.hub.statistics()
        return DeliveryHealth(bus, StreamsHealth(
            sse=stats.sse_clients, websocket=stats.ws_clients, max=self.hub.admission.max_streams,
            slow_disconnects=stats.slow_drops, last_event_id=self.sequencer.last_id,
            replay=attrs.asdict(self.replayer.statistics()),
            recent={"events": len(self.hub.ring), "floor": self.hub.ring.floor}))


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
    settings = StreamSettings(replay_cap=config.replay_cap, backlog=config.client_backlog)
    replayer = Replayer(db, hub.ring, cap=config.replay_cap)
    async with contextlib.AsyncExitStack() as stack, trio.open_nursery() as nursery:
        await nursery.start(hub.serve)
        await nursery.start(replayer.serve)
        feed = None
        if config.redis_url:
            link = await stack.enter_async_context(open_redis(config.redis_url))
            feed = RedisFeed(link, sequencer, poll_interval=timing.poll_interval,
                             ping_interval=timing.ping_interval, ping_timeout=timing.ping_timeout,
                             max_backoff=timing.max_backoff)
            await nursery.start(feed.run)
        yield Delivery(hub, sequencer, Broadcaster(sequencer, feed), feed, db, settings, replayer)
        nursery.cancel_scope.cancel()


async def serve_delivery(config: Config, db: Database, *, timing: BusTiming = BusTiming(),
                         task_status: trio.TaskStatus[Delivery] = trio.TASK_STATUS_IGNORED) -> None:
    """``open_delivery`` as a task for a nursery: ``started(delivery)``, runs until cancelled."""
    async with open_delivery(config, db, timing=timing) as delivery:
        task_status.started(delivery)
        await trio.sleep_forever()
