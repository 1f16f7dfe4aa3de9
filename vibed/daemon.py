"""The wiring: the one place where the loop, the database, the channels and the actors meet.

    serve_daemon
      └─ open_loop (trio-asyncio, for asyncpg and redis)
          └─ open_store: embedded PostgreSQL or DATABASE_URL, migrations
              └─ nursery: signals · supervisor(actors…) · http
"""

from __future__ import annotations

import contextlib
import gc
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs
import trio

from vibed.config import Config, resolved_data_dir
from vibed.embedded.datadir_lock import daemon_lock
from vibed.embedded.target import database_name, ensure_database, ensure_external_sim_database
from vibed.embedded.watch import open_embedded_postgres
from vibed.health import HealthParts
from vibed.http.cursor import load_cursor_key
from vibed.logs import get_logger
from vibed.notify import Notifier, status_line
from vibed.store.aio_loop import open_asyncio_loop
from vibed.store.migrations import migrate
from vibed.store.postgres import Database, open_database
from vibed.supervisor import Supervisor

if TYPE_CHECKING:  # the parts' types, named for readers and checkers; importing them here would cycle
    import httpx

    from vibed.delivery import Delivery, Hub
    from vibed.edge.cache import EdgeCache
    from vibed.metrics import MeteredSource, Metrics
    from vibed.pipeline.adaptive import AdaptiveScheduler
    from vibed.pipeline.control import Control
    from vibed.pipeline.health import ScopeHealth
    from vibed.pipeline.scheduler import Scheduler
    from vibed.pipeline.writer import Writer
    from vibed.roles import RemoteControl
    from vibed.webhooks.sender import WebhookSender

log = get_logger("vibed.daemon")


@attrs.define(eq=False)
class Parts:
    """The services ``wiring.start_services`` starts, by name: None until started, and in a role that
    does not run it (a serve process has no writer; its ``control`` forwards to the fetch process)."""

    metrics: Metrics | None = None
    control: Control | RemoteControl | None = None
    scheduler: Scheduler | AdaptiveScheduler | None = None
    writer: Writer | None = None
    sources: dict[str, MeteredSource] = attrs.field(factory=dict)
    health: ScopeHealth | None = None
    http_client: httpx.AsyncClient | None = None
    delivery: Delivery | None = None
    hub: Hub | None = None
    webhook_sender: WebhookSender | None = None
    wake_webhooks: Callable[[], None] | None = None  # the sender looks at the outbox now
    polling: Callable[[], dict[str, Any]] | None = None  # the polling plan, as health shows it
    edge_cache: EdgeCache | None = None
    http_port: int | None = None  # the port bound (PORT=0 picks one)
    reload: Callable[[], Awaitable[None]] | None = None  # SIGHUP's work
    cursor_key: bytes | None = None  # signs the listing's cursors


@attrs.define(eq=False)
class Runtime:
    """What the running daemon shares with its HTTP handlers and actors."""

    config: Config
    db: Database
    embedded: bool
    supervisor: Supervisor = attrs.field(factory=Supervisor)
    started_monotonic: float = attrs.field(factory=time.monotonic)
    stopping: trio.Event = attrs.field(factory=trio.Event)
    blueprints: list[Any] = attrs.field(factory=list)
    health: HealthParts = attrs.field(factory=HealthParts)  # the services' health records, for /api/health
    parts: Parts = attrs.field(factory=Parts)  # the running services, by name
    loader: Any = None  # () -> Config, for SIGHUP; None = reload not possible
    notifier: Notifier = attrs.field(factory=Notifier)



@contextlib.asynccontextmanager
async def open_store(config: Config, *, daemon: bool = True) -> AsyncIterator[tuple[Database, bool]]:
    """The database the config asks for, migrated: (db, embedded?).

    As the daemon (``daemon=True``) with the embedded server: refuse a second daemon on the
    data directory, and supervise the server.  ``vibed migrate`` uses a running server as is.
    """
    async with contextlib.AsyncExitStack() as stack:
        embedded = config.database_url is None
        if config.database_url is None:
            data_dir = resolved_data_dir(config)
            data_dir.mkdir(parents=True, exist_ok=True)
            if daemon:
                stack.enter_context(daemon_lock(data_dir))
            admin_dsn = await stack.enter_async_context(open_embedded_postgres(data_dir, supervise=daemon))
            dsn = await ensure_database(admin_dsn, database_name(config))
        elif config.simulate:
            dsn = await ensure_external_sim_database(config)  # a simulation never touches real state
        else:
            dsn = config.database_url
        db = await stack.enter_async_context(
            open_database(dsn, pool_size=config.db_pool_size, attempts=config.db_connect_attempts,
                          timeout=config.db_timeout, statement_timeout=config.db_statement_timeout)
        )
        await migrate(db)
        yield db, embedded


async def _watch_signals(runtime: Runtime, stop: trio.Event, on_poke: Any, on_reload: Any) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum in (signal.SIGTERM, signal.SIGINT):
                log.info("shutdown_requested", signal=signal.Signals(signum).name)
                stop.set()
            elif signum == signal.SIGUSR1:
                log.info("fetch_poked", origin="signal")
                on_poke()
            elif signum == signal.SIGHUP:
                await on_reload()


async def serve_daemon(config: Config, *, task_status: trio.TaskStatus[Runtime] = trio.TASK_STATUS_IGNORED,
                       stop: trio.Event | None = None, loader: Any = None,
                       notifier: Notifier | None = None) -> None:
    """Run the daemon until SIGTERM/SIGINT (or ``stop`` is set), then drain within the grace period."""
    from vibed.wiring import start_services

    stop = stop if stop is not None else trio.Event()
    notifier = notifier or Notifier()
    async with open_asyncio_loop():
        async with open_store(config) as (db, embedded):
            runtime = Runtime(config=config, db=db, embedded=embedded, loader=loader, notifier=notifier)
            await load_cursor_key(runtime)
            async with trio.open_nursery() as nursery:
                services = await start_services(nursery, runtime)
                nursery.start_soon(_watch_signals, runtime, stop, services.poke, services.reload)
                await nursery.start(notifier.serve_watchdog, db.ping)
                log.info("daemon_ready", port=services.port, role=config.role, languages=",".join(config.languages),
                         database="embedded" if embedded else "external")
                notifier.ready(status_line(runtime))  # the database answers and HTTP listens
                # what start-up built lives as long as the daemon: keep the collector from walking it
                # again and again (a full collection of it is a ~40 ms pause in the middle of requests)
                gc.freeze()
                task_status.started(runtime)
                await stop.wait()
                notifier.stopping()
                runtime.stopping.set()
                started = trio.current_time()
                with trio.move_on_after(config.grace_period) as grace:
                    await services.drain()
                if grace.cancelled_caught:
                    log.warning("shutdown_grace_exceeded", grace_period=config.grace_period)
                nursery.cancel_scope.cancel()
            log.info("daemon_stopped", drain_ms=round((trio.current_time() - started) * 1000))
