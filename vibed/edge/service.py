"""``open_edge``: the HTTP side of one process (sockets, cache, guard), as a handle the composition root holds.

The edge owns the sockets: per request, a stream goes to the hub, the rest to the cache or the
app.  ``reconfigure`` makes trusted proxies, CORS origins and the per-IP limit live; ``drain``
stops accepting and lets answers in flight finish (within ``min(3, grace period)`` seconds).
"""

from __future__ import annotations

from functools import partial

import attrs
import trio
from quart_trio import QuartTrio

from vibed.config import Config
from vibed.delivery import Delivery
from vibed.edge.cache import EdgeCache
from vibed.edge.guard import Guard
from vibed.edge.router import DirectReads
from vibed.edge.server import serve_http
from vibed.health import EdgeHealth
from vibed.metrics import Metrics


@attrs.define(eq=False)
class EdgeService:
    port: int  # the port bound (PORT=0 picks one)
    cache: EdgeCache
    guard: Guard
    _stop: trio.Event

    def health(self) -> EdgeHealth:
        stats = self.cache.statistics()
        return EdgeHealth(port=self.port, cache_entries=stats.entries, cache_hits=stats.hits,
                          cache_misses=stats.misses)

    async def reconfigure(self, config: Config) -> None:
        self.guard.reconfigure(config)

    async def drain(self) -> None:
        self._stop.set()


async def open_edge(nursery: trio.Nursery, delivery: Delivery, app: QuartTrio, config: Config,
                    metrics: Metrics, direct: DirectReads | None = None) -> EdgeService:
    """``direct``: the read endpoints the edge answers without the app (vibed/http/reads.py)."""
    # answers the edge holds until the next delivered event (the hub's last id moves with every release)
    cache = EdgeCache(lambda: delivery.sequencer.last_id, ttl=config.edge_cache_ttl)
    guard = Guard.from_config(config)  # client address, CORS, per-IP limit: live on SIGHUP
    stop = trio.Event()
    port: int = await nursery.start(partial(
        serve_http, delivery, app, config, host=config.host, port=config.port, shutdown=stop,
        grace=min(3.0, config.grace_period), metrics=metrics, cache=cache, guard=guard, direct=direct))
    return EdgeService(port, cache, guard, stop)
