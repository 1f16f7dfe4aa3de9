"""The composition root: the one place where the services are opened, in pipeline order, and joined.

    open_services
      ├─ open_delivery_service  hub · sequencer · bus · broadcaster      (inbox: the writer's events)
      ├─ open_webhooks          the sender, woken by every delivered batch
      ├─ open_targets           the notify sender (Apprise targets), woken likewise
      ├─ open_push              the VAPID key and the push sender, woken likewise
      ├─ open_pipeline          control · scheduler · fetchers · writer ─► the delivery's inbox
      ├─ round requests         fetch role: from Redis; serve role: a RemoteControl to the fetch process
      └─ open_edge              sockets · cache · guard, in front of the app and its AppContext

Each is a typed handle with ``health()``, ``reconfigure(config)`` and ``drain()``.  A reload
reconfigures each; a drain drains each, front to back (``Services.in_order``): the edge stops
accepting, then the pipeline, the broadcaster and the sender finish as their inputs end.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Protocol

import attrs
import httpx
import trio
from quart_trio import QuartTrio

from vibed import roles
from vibed.config import Config
from vibed.delivery.service import DeliveryService, open_delivery_service
from vibed.edge.service import EdgeService, open_edge
from vibed.health import HealthReport
from vibed.health.gather import gather
from vibed.http import control as control_api
from vibed.http import metrics_api, page, push_api, reads, targets_api, webhooks_api
from vibed.http import roles as roles_http
from vibed.http.app import create_app
from vibed.http.context import AppContext, Keys, RoundRequests
from vibed.logs import get_logger
from vibed.metrics import MeteredSource, Metrics
from vibed.pipeline.scheduler import RoundProgress
from vibed.pipeline.service import PipelineService, open_pipeline
from vibed.push.service import PushService, open_push
from vibed.sources import JioSaavnSource, SpotifySource
from vibed.sources.http import upstream_client
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.targets.service import TargetsService, open_targets
from vibed.vocab.messages import StoredEvent
from vibed.vocab.source import Source
from vibed.webhooks.service import WebhooksService, open_webhooks

if TYPE_CHECKING:
    from vibed.simulator import SimSettings

log = get_logger("vibed.wiring")


class Service(Protocol):
    async def reconfigure(self, config: Config) -> None: ...

    async def drain(self) -> None: ...


@attrs.define(eq=False)
class Services:
    """The running services of one process."""

    metrics: Metrics
    client: httpx.AsyncClient  # the sources' connection pool
    delivery: DeliveryService
    webhooks: WebhooksService
    push: PushService
    targets: TargetsService
    pipeline: PipelineService
    control: RoundRequests  # the pipeline's Control, or in a serve process a RemoteControl
    edge: EdgeService
    context: AppContext
    app: QuartTrio
    reads: reads.Direct | None  # the read endpoints the edge answers without the app (None: a fetch process)

    @property
    def in_order(self) -> tuple[Service, ...]:
        return (self.edge, self.pipeline, self.delivery, self.webhooks, self.push, self.targets)

    async def reconfigure(self, config: Config) -> None:
        for service in self.in_order:
            await service.reconfigure(config)

    async def drain(self) -> None:
        for service in self.in_order:
            await service.drain()
        await self.client.aclose()

    async def poke(self) -> None:
        """SIGUSR1: a round now (in a serve process, asked of the fetch process)."""
        await self.control.ask_round("signal")


def open_sources(config: Config, client: httpx.AsyncClient) -> dict[str, Source]:
    sources: dict[str, Source] = {
        "jiosaavn": JioSaavnSource(client, config.jiosaavn_base_url, page_size=config.page_size,
                                   timeout=config.upstream_timeout, max_body=config.upstream_max_body),
    }
    if config.spotify_client_id and config.spotify_client_secret:
        sources["spotify"] = SpotifySource(
            client, config.spotify_api_url, config.spotify_accounts_url, config.spotify_client_id,
            config.spotify_client_secret, markets=config.spotify_markets, page_size=config.page_size,
            timeout=config.upstream_timeout, max_body=config.upstream_max_body)
    return sources


def simulation_settings() -> SimSettings:
    """The in-process simulator's catalogue, a new one each run: the simulation's database keeps what
    earlier runs stored, and a catalogue that started again from the same seed would make the same ids,
    so nothing it released would be new until it had outgrown every earlier run's."""
    from vibed.simulator import SimSettings

    run = time.time_ns() // 1000 % 10**12  # microseconds: two runs never share one
    return SimSettings(seed=run, id_prefix=str(run))


async def start_simulator(nursery: trio.Nursery, config: Config) -> Config:
    """``--simulate``: the built-in upstream, and ``config`` pointed at it."""
    from vibed.simulator import serve_simulator

    settings = simulation_settings()
    url = await nursery.start(partial(serve_simulator, "127.0.0.1", config.simulate_port, settings=settings))
    log.info("simulator_started", url=url)
    config = attrs.evolve(config, jiosaavn_base_url=url, spotify_api_url=url, spotify_accounts_url=url)
    if not config.spotify_client_id:
        config = attrs.evolve(config, spotify_client_id=settings.spotify_client_id,
                              spotify_client_secret=settings.spotify_client_secret)
    return config


async def open_services(nursery: trio.Nursery, config: Config, db: Database, sup: Supervisor, *,
                        embedded: bool, started: float, cursor_key: bytes, settings: Callable[[], Config],
                        on_round: Callable[[RoundProgress], None]) -> Services:
    """``settings``: the configuration in force (a reload replaces it); ``on_round``: each finished round."""
    client = upstream_client(config.upstream_timeout)
    metrics = Metrics()
    sup.on_restart = lambda name: metrics.restarts.labels(name).inc()
    sources = {name: MeteredSource(source, metrics) for name, source in open_sources(config, client).items()}

    def delivered(events: Sequence[StoredEvent]) -> None:
        now = time.time()
        for event in events:
            if event.created_at is not None:
                metrics.delivery.observe(max(0.0, now - event.created_at.timestamp()))
        webhooks.wake_nowait()  # their outbox rows committed with them (from this or another instance)
        push.wake_nowait()  # and so did their push deliveries
        targets.wake_nowait()  # and their notify-target rows

    def round_done(progress: RoundProgress) -> None:
        metrics.round_seconds.observe(trio.current_time() - progress.started)
        on_round(progress)

    delivery = await open_delivery_service(nursery, sup, config, db, delivered)
    webhooks = await open_webhooks(nursery, sup, config, db)
    targets = await open_targets(nursery, sup, config, db)
    push = await open_push(nursery, sup, config, db)
    pipeline = await open_pipeline(nursery, sup, config, db, sources, delivery.inbox, round_done)
    control: RoundRequests = pipeline.control
    if config.role == "fetch":
        # rounds asked of serve processes arrive over Redis
        await nursery.start(roles.serve_round_requests, config.redis_url, pipeline.control)
    elif config.role == "serve":
        # this process fetches nothing: a round asked here goes to the fetch process, over Redis
        remote = roles.RemoteControl()
        control = remote
        await nursery.start(roles.serve_round_forwarding, config.redis_url, remote)

    async def health() -> HealthReport:
        return await gather(db, sup, role=config.role, embedded=embedded, started=started,
                            pipeline=pipeline.health, delivery=delivery.health, webhooks=webhooks.health,
                            push=push.health, edge=edges[0].health if edges else None,  # None until it listens
                            targets=targets.health)

    async def scrape() -> bytes:
        return metrics_api.scrape(metrics, await health(), writer=pipeline.writer if config.fetches else None,
                                  sender=webhooks.sender, push=push.sender, targets=targets.sender)

    edges: list[EdgeService] = []  # the edge, once it listens (the app it serves is made first)
    context = AppContext(database=db, control=control, health=health, metrics=scrape, keys=Keys(cursor_key),
                         settings=settings, sources=tuple(sources), wake_webhooks=webhooks.wake_nowait,
                         http_port=lambda: edges[0].port if edges else None,
                         watch_changed=delivery.delivery.changes.changed, wake_targets=targets.wake_nowait)
    blueprints = [control_api.register, metrics_api.register, page.register, webhooks_api.register,
                  push_api.register, targets_api.register]
    if not config.serves:
        blueprints.append(roles_http.fetch_only)  # health and metrics, nothing else
    if not config.jwt_secret:
        log.warning("control_unprotected", detail="JWT_SECRET is not set: POST /api/new-releases/fetch "
                                                  "answers loopback clients only")
    app = create_app(context, blueprints)
    # a serve process answers the read endpoints at the edge, without the app (a fetch process does not serve them)
    direct = reads.Direct(context) if config.serves else None
    edge = await open_edge(nursery, delivery.delivery, app, config, metrics, None if direct is None else direct.find)
    edges.append(edge)
    if config.simulate and config.fetches:
        # a demo should show releases at once, not at the next cron time
        pipeline.control.request_round("startup")
    return Services(metrics, client, delivery, webhooks, push, targets, pipeline, control, edge, context, app, direct)
