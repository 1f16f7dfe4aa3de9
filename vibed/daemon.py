"""The daemon: the loop, the database and the services, for as long as it runs.

    serve_daemon
      └─ open_loop (trio-asyncio, for asyncpg and redis)
          └─ open_store: embedded PostgreSQL or DATABASE_URL, migrations
              └─ nursery: signals · supervisor(actors…) · open_services (vibed/wiring.py)

SIGHUP reloads (``Runtime.reload``: every service reconfigured), SIGUSR1 asks for a round, and
SIGTERM/SIGINT drain every service in pipeline order within the grace period.
"""

from __future__ import annotations

import contextlib
import gc
import signal
import time
from collections.abc import AsyncIterator, Callable

import attrs
import trio

from vibed.config import Config, resolved_data_dir
from vibed.config.reload import reload_config
from vibed.embedded.datadir_lock import daemon_lock
from vibed.embedded.root import make_data_dir
from vibed.embedded.target import database_name, ensure_database, ensure_external_sim_database
from vibed.embedded.watch import open_embedded_postgres
from vibed.http.cursor import load_cursor_key
from vibed.logs import get_logger
from vibed.notify import Notifier
from vibed.pipeline.scheduler import RoundProgress
from vibed.store.aio_loop import open_asyncio_loop
from vibed.store.migrations import migrate
from vibed.store.postgres import Database, open_database
from vibed.supervisor import Supervisor
from vibed.wiring import Services, open_services, start_simulator

log = get_logger("vibed.daemon")


@attrs.define(eq=False)
class Runtime:
    """The running daemon: the configuration in force, the database and the services."""

    config: Config
    db: Database
    embedded: bool
    services: Services
    supervisor: Supervisor
    started_monotonic: float
    stopping: trio.Event = attrs.field(factory=trio.Event)
    loader: Callable[[], Config] | None = None  # for SIGHUP; None = reload not possible
    notifier: Notifier = attrs.field(factory=Notifier)

    def status_line(self) -> str:
        """Languages watched, last round, new releases (systemd's STATUS=)."""
        langs = ",".join(self.config.languages)
        last = self.services.pipeline.scheduler.last_round
        if last is None:
            return f"watching {langs}; no round yet"
        return f"watching {langs}; last round {last.id}: {last.requests} requests, {last.events} new"

    async def reload(self) -> None:
        """SIGHUP: the configuration read again and, when valid, every service reconfigured."""
        if self.loader is None:
            log.warning("reload_unavailable", reason="this daemon was started without a configuration loader")
            return
        self.notifier.reloading()
        new = reload_config(self.config, self.loader)
        if new is not None:
            self.config = new
            await self.services.reconfigure(new)
        self.notifier.ready(self.status_line())


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
            make_data_dir(data_dir)
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


async def _watch_signals(runtime: Runtime, stop: trio.Event) -> None:
    with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGHUP) as signals:
        async for signum in signals:
            if signum in (signal.SIGTERM, signal.SIGINT):
                log.info("shutdown_requested", signal=signal.Signals(signum).name)
                stop.set()
            elif signum == signal.SIGUSR1:
                log.info("fetch_poked", origin="signal")
                await runtime.services.poke()
            elif signum == signal.SIGHUP:
                await runtime.reload()


async def serve_daemon(config: Config, *, task_status: trio.TaskStatus[Runtime] = trio.TASK_STATUS_IGNORED,
                       stop: trio.Event | None = None, loader: Callable[[], Config] | None = None,
                       notifier: Notifier | None = None) -> None:
    """Run the daemon until SIGTERM/SIGINT (or ``stop`` is set), then drain within the grace period."""
    stop = stop if stop is not None else trio.Event()
    notifier = notifier or Notifier()
    started = time.monotonic()
    async with open_asyncio_loop():
        async with open_store(config) as (db, embedded):
            cursor_key = await load_cursor_key(db)
            supervisor = Supervisor()
            async with trio.open_nursery() as nursery:
                if config.simulate:
                    config = await start_simulator(nursery, config)

                def round_done(progress: RoundProgress) -> None:
                    notifier.status(runtime.status_line())

                services = await open_services(nursery, config, db, supervisor, embedded=embedded,
                                               started=started, cursor_key=cursor_key,
                                               settings=lambda: runtime.config, on_round=round_done)
                runtime = Runtime(config, db, embedded, services, supervisor, started, loader=loader,
                                  notifier=notifier)
                nursery.start_soon(_watch_signals, runtime, stop)
                await nursery.start(notifier.serve_watchdog, db.ping)
                log.info("daemon_ready", port=services.edge.port, role=config.role,
                         languages=",".join(config.languages), database="embedded" if embedded else "external")
                notifier.ready(runtime.status_line())  # the database answers and HTTP listens
                # what start-up built lives as long as the daemon: keep the collector from walking it
                # again and again (a full collection of it is a ~40 ms pause in the middle of requests)
                gc.freeze()
                task_status.started(runtime)
                await stop.wait()
                notifier.stopping()
                runtime.stopping.set()
                draining = trio.current_time()
                with trio.move_on_after(config.grace_period) as grace:
                    await services.drain()
                if grace.cancelled_caught:
                    log.warning("shutdown_grace_exceeded", grace_period=config.grace_period)
                nursery.cancel_scope.cancel()
            log.info("daemon_stopped", drain_ms=round((trio.current_time() - draining) * 1000))
