"""Channels are created here, and only here; actors are started here under the supervisor.

    Control ─Poke─► scheduler ─FetchJob─► fetcher×N ─WriteRequest─► writer ─(StoredEvent…)─► broadcaster
                    (pokes: 1)            (jobs: 0)   (pages: N)              (stored: 64)      │ delivered
    webhook sender ◄─wake─────────────────────────────────────────────────────────────────────┘
                    (wakes: 1; they coalesce — the outbox rows are already committed)

Each actor gets *clones* of the channel ends it uses, so a crashed actor closing its ends
does not close the channel: the restarted actor gets fresh clones.  Shutdown closes the
originals from the front, so each actor sees its input end and finishes in turn.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable, Sequence
from functools import partial
from typing import Any

import attrs
import httpx
import trio

from vibed import roles
from vibed.config import Config
from vibed.config.reload import reload_config
from vibed.delivery import serve_delivery
from vibed.edge.cache import EdgeCache
from vibed.edge.guard import Guard
from vibed.edge.server import serve_http
from vibed.health import BucketHealth, PipelineHealth, RoundSummary, SourceHealth
from vibed.http.app import create_app
from vibed.logs import get_logger
from vibed.metrics import MeteredSource, Metrics
from vibed.notify import status_line
from vibed.pipeline import fetch_state
from vibed.pipeline.adaptive import AdaptiveScheduler, cron_snapshot
from vibed.pipeline.control import Control
from vibed.pipeline.fetcher import Fetcher
from vibed.pipeline.health import ScopeHealth
from vibed.pipeline.scheduler import Scheduler
from vibed.pipeline.writer import Writer
from vibed.sources import JioSaavnSource, SpotifySource
from vibed.store import bucket
from vibed.vocab.clock import Clock
from vibed.vocab.messages import FetchJob, Poke, StoredEvent, WriteRequest
from vibed.webhooks import subscriptions
from vibed.webhooks.sender import SenderSettings, WebhookSender

log = get_logger("vibed.wiring")


@attrs.define(eq=False)
class Services:
    port: int
    poke: Callable[[], None]
    reload: Callable[[], Awaitable[None]]
    drain: Callable[[], Awaitable[None]]


def open_sources(config: Config, client: httpx.AsyncClient) -> dict[str, Any]:
    sources: dict[str, Any] = {
        "jiosaavn": JioSaavnSource(client, config.jiosaavn_base_url, page_size=config.page_size,
                                   timeout=config.upstream_timeout, max_body=config.upstream_max_body),
    }
    if config.spotify_client_id and config.spotify_client_secret:
        sources["spotify"] = SpotifySource(
            client, config.spotify_api_url, config.spotify_accounts_url, config.spotify_client_id,
            config.spotify_client_secret, markets=config.spotify_markets, page_size=config.page_size,
            timeout=config.upstream_timeout, max_body=config.upstream_max_body)
    return sources


async def _start_simulator(nursery: trio.Nursery, config: Config) -> Config:
    from vibed.simulator import SimSettings, serve_simulator

    settings = SimSettings()
    url = await nursery.start(partial(serve_simulator, "127.0.0.1", config.simulate_port, settings=settings))
    log.info("simulator_started", url=url)
    config = attrs.evolve(config, jiosaavn_base_url=url, spotify_api_url=url, spotify_accounts_url=url)
    if not config.spotify_client_id:
        config = attrs.evolve(config, spotify_client_id=settings.spotify_client_id,
                              spotify_client_secret=settings.spotify_client_secret)
    return config


async def start_services(nursery: trio.Nursery, runtime: Any) -> Services:
    config = runtime.config
    if config.simulate:
        config = runtime.config = await _start_simulator(nursery, config)

    client = httpx.AsyncClient(follow_redirects=False, timeout=config.upstream_timeout,
                               limits=httpx.Limits(max_connections=32))
    metrics = runtime.parts.metrics = Metrics()
    sources = {name: MeteredSource(source, metrics) for name, source in open_sources(config, client).items()}
    health = ScopeHealth()
    sup = runtime.supervisor
    sup.on_restart = lambda name: metrics.restarts.labels(name).inc()

    # the channels, sized on purpose (see the module docstring)
    pokes_s, pokes_r = trio.open_memory_channel[Poke](1)  # pokes coalesce in the single slot
    jobs_s, jobs_r = trio.open_memory_channel[FetchJob](0)  # a job waits for a free fetcher
    pages_s, pages_r = trio.open_memory_channel[WriteRequest](config.fetchers)  # one in flight per fetcher
    stored_s, stored_r = trio.open_memory_channel[tuple[StoredEvent, ...]](64)  # broadcaster never blocks
    wakes_s, wakes_r = trio.open_memory_channel[None](1)  # webhook wake-ups coalesce in the single slot

    control = Control(pokes_s)
    def round_done(progress: Any) -> None:
        metrics.round_seconds.observe(trio.current_time() - progress.started)
        runtime.notifier.status(status_line(runtime))

    scheduler: Scheduler
    clock = Clock.parse(config.trace_clock) if config.trace_clock else Clock()
    if config.polling == "adaptive":
        scheduler = AdaptiveScheduler(config, sources, take_poke=control.take, on_round=round_done,
                                      db=runtime.db, clock=clock)
    elif clock.real:
        scheduler = Scheduler(config, sources, take_poke=control.take, on_round=round_done)
    else:
        scheduler = Scheduler(config, sources, take_poke=control.take, on_round=round_done,
                              now=clock.now, speed=clock.speed)
    writer = Writer(runtime.db, window_days=config.new_window_days)
    runtime.parts.control = control
    runtime.parts.scheduler = scheduler
    runtime.parts.writer = writer
    runtime.parts.sources = sources
    runtime.parts.health = health
    runtime.parts.http_client = client

    if roles.fetches(config):
        await sup.start(nursery, "writer", lambda task_status: writer.run(
            pages_r.clone(), stored_s.clone(), task_status=task_status))
    delivery = await nursery.start(serve_delivery, config, runtime.db)
    runtime.parts.delivery = delivery
    runtime.parts.hub = delivery.hub
    if not roles.serves(config):
        delivery.hub.admission.max_streams = 0  # a fetch process holds no stream: 503, ask a serve process
    runtime.health.delivery = delivery.health

    def wake_webhooks() -> None:
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            wakes_s.send_nowait(None)

    def delivered(events: Sequence[StoredEvent]) -> None:
        now = time.time()
        for event in events:
            if event.created_at is not None:
                metrics.delivery.observe(max(0.0, now - event.created_at.timestamp()))
        wake_webhooks()  # their outbox rows committed with them (from this or another instance)

    delivery.hub.on_published = delivered
    await sup.start(nursery, "broadcaster", lambda task_status: delivery.broadcaster.run(
        stored_r.clone(), task_status=task_status))
    # in every role: senders of several processes share the outbox safely (a claimed row is leased)
    sender = WebhookSender(runtime.db, SenderSettings.of(config))
    runtime.parts.webhook_sender = sender
    runtime.parts.wake_webhooks = wake_webhooks
    await sup.start(nursery, "webhooks", lambda task_status: sender.run(wakes_r.clone(), task_status=task_status))
    runtime.health.webhooks = partial(subscriptions.health, runtime.db)
    fetchers: dict[str, Fetcher] = {}

    async def start_fetcher(i: int) -> None:
        fetcher = Fetcher(f"fetcher-{i}", runtime.db, sources, health)
        fetchers[fetcher.name] = fetcher
        await sup.start(nursery, fetcher.name, lambda task_status: fetcher.run(
            jobs_r.clone(), pages_s.clone(), task_status=task_status))

    for i in range(1, roles.fetcher_count(config) + 1):
        await start_fetcher(i)

    if roles.fetches(config):
        await sup.start(nursery, "scheduler", lambda task_status: scheduler.run(
            pokes_r.clone(), jobs_s.clone(), task_status=task_status))
    if config.role == "fetch":
        # rounds asked of serve processes arrive over Redis
        await nursery.start(roles.serve_round_requests, config.redis_url, control)
    elif config.role == "serve":
        # this process fetches nothing: a round asked here goes to the fetch process
        remote = runtime.parts.control = roles.RemoteControl()
        await nursery.start(roles.serve_round_forwarding, config.redis_url, remote)

    async def pipeline_health() -> PipelineHealth:
        buckets = {b.service: BucketHealth(round(b.tokens, 2), b.max_tokens,
                                           None if b.next_token_s is None else round(b.next_token_s, 1))
                   for b in await bucket.all_buckets(runtime.db)}
        last = scheduler.last_round
        scopes = health.snapshot()
        return PipelineHealth(
            sources={name: SourceHealth(s.available, scopes.get(name, {})) for name, s in sources.items()},
            buckets=buckets, rounds=scheduler.rounds,
            last_round=None if last is None else RoundSummary(last.id, last.origin, last.requests, last.events),
            polling=polling_snapshot(), last_fetch_age_s=await fetch_state.last_success_age(runtime.db),
            stale_after_s=runtime.config.stale_after)

    def polling_snapshot() -> dict[str, Any]:
        if not roles.fetches(config):
            return {"mode": config.polling, "fetching": False}  # the fetch process plans the polls
        if isinstance(scheduler, AdaptiveScheduler):
            return scheduler.snapshot()
        return cron_snapshot(scheduler)

    runtime.parts.polling = polling_snapshot

    runtime.health.pipeline = pipeline_health

    from vibed.http import control as control_api
    from vibed.http import metrics_api, page, webhooks_api
    from vibed.http import roles as roles_http

    runtime.blueprints.extend([control_api.register, metrics_api.register, page.register, webhooks_api.register])
    if not roles.serves(config):
        runtime.blueprints.append(roles_http.fetch_only)  # health and metrics, nothing else
    if not config.jwt_secret:
        log.warning("control_unprotected", detail="JWT_SECRET is not set: POST /api/new-releases/fetch "
                                                  "answers loopback clients only")

    http_stop = trio.Event()
    app = create_app(runtime)
    # answers the edge holds until the next delivered event (the hub's last id moves with every release)
    edge_cache = runtime.parts.edge_cache = EdgeCache(lambda: delivery.sequencer.last_id,
                                                         ttl=config.edge_cache_ttl)
    guard = Guard.from_config(config)  # client address, CORS, per-IP limit: live on SIGHUP
    # the edge owns the sockets: per request, a stream goes to the hub, the rest to cache or app
    port = await nursery.start(partial(serve_http, delivery, app, config, host=config.host, port=config.port,
                                       shutdown=http_stop, grace=min(3.0, config.grace_period), metrics=metrics,
                                       cache=edge_cache, guard=guard))
    runtime.parts.http_port = port

    def poke() -> None:
        asked = runtime.parts.control
        if asked is not None:
            asked.request_round("signal")

    async def apply(new: Config) -> None:
        guard.reconfigure(new)
        hub = delivery.hub
        hub.admission.per_ip = new.stream_limit_per_ip
        hub.heartbeat, hub.stall_timeout = new.heartbeat, new.stream_stall_timeout
        scheduler.reconfigure(new)
        writer.window_days = new.new_window_days
        for source in sources.values():
            source.reset()  # a Spotify app re-enabled upstream is tried again
        have = len(fetchers)
        for i in range(have + 1, roles.fetcher_count(new) + 1):
            await start_fetcher(i)
        for i in range(have, roles.fetcher_count(new), -1):
            # a fetcher in the middle of a job is cancelled; its round ends and the job runs next round
            sup.stop(f"fetcher-{i}")
            fetchers.pop(f"fetcher-{i}", None)

    async def reload() -> None:
        if runtime.loader is None:
            log.warning("reload_unavailable", reason="this daemon was started without a configuration loader")
            return
        runtime.notifier.reloading()
        pending: list[Any] = []
        if reload_config(runtime, runtime.loader, pending.append):
            await apply(pending[0])
        runtime.notifier.ready(status_line(runtime))

    async def drain() -> None:
        http_stop.set()
        # close the originals front to back; each actor finishes when its input ends
        for channel, names in ((pokes_s, ["scheduler"]),
                               (jobs_s, list(fetchers)),
                               (pages_s, ["writer"]), (stored_s, ["broadcaster"]), (wakes_s, ["webhooks"])):
            await channel.aclose()
            await sup.wait_finished(names)
        await client.aclose()

    if config.simulate and roles.fetches(config):
        # a demo should show releases at once, not at the next cron time
        control.request_round("startup")
    runtime.parts.reload = reload
    return Services(port=port, poke=poke, reload=reload, drain=drain)
