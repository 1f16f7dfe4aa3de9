"""The embedded PostgreSQL as a supervised resource of the daemon.

``open_embedded_postgres`` starts (or adopts) the server and yields its DSN.  With
``supervise=True`` (the daemon) two tasks live beside it:

- ``_watch``: waits on a pidfd for the server's exit, reaps it, logs one
  ``embedded_postgres_exited`` line with the reason, and starts it again.  More than
  ``MAX_RESTARTS`` exits within ``RESTART_WINDOW`` seconds raise ``EmbeddedPostgresError``,
  which ends the daemon with a non-zero code for systemd.
- ``_bound_log``: keeps ``postgres.log`` under its cap.

On exit only an owner stops the server (see ``embedded``): ``vibed migrate`` beside a running
daemon leaves the daemon's server running.
"""

from __future__ import annotations

import contextlib
import os
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path

import trio

from vibed.embedded.log import bound_log, exit_reason
from vibed.embedded.server import EmbeddedPostgresError, EmbeddedServer
from vibed.logs import get_logger

log = get_logger("vibed.embedded")
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0  # seconds
START_TIMEOUT = 60.0  # seconds for a first start (initdb is separate) or a restart
LOG_CHECK_EVERY = 30.0  # seconds between postgres.log size checks


async def _ready(server: EmbeddedServer, timeout: float) -> None:
    with trio.fail_after(timeout):
        while not await trio.to_thread.run_sync(server.ready_now):  # noqa: ASYNC110 - polling a process
            await trio.sleep(0.1)


async def _wait_exit(server: EmbeddedServer) -> int | None:
    """Block until the server process ends; reap it when it is our child."""
    try:
        fd = os.pidfd_open(server.pid)
    except ProcessLookupError:
        return server.reap()
    try:
        await trio.lowlevel.wait_readable(fd)
    finally:
        os.close(fd)
    return server.reap()


async def _restart(server: EmbeddedServer) -> None:
    """Start again; a SIGKILLed server's backends may hold shared memory for a moment: retry."""
    with trio.fail_after(START_TIMEOUT):
        while True:
            server.spawn()
            try:
                await _ready(server, START_TIMEOUT)
                return
            except EmbeddedPostgresError as exc:  # exited at start
                log.warning("embedded_postgres_restart_failed", error=str(exc)[-300:], retry_in=0.5)
                await trio.sleep(0.5)


async def _watch(server: EmbeddedServer) -> None:
    exits: deque[float] = deque()
    while True:
        code = await _wait_exit(server)
        reason = exit_reason(code, server.logfile, server.log_offset)
        log.error("embedded_postgres_exited", pid=server.pid, reason=reason)
        now = trio.current_time()
        exits.append(now)
        while exits and exits[0] < now - RESTART_WINDOW:
            exits.popleft()
        if len(exits) > MAX_RESTARTS:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL exited {len(exits)} times within {RESTART_WINDOW:g} s "
                f"(last: {reason}); see {server.logfile}"
            )
        started = trio.current_time()
        try:
            await _restart(server)
        except trio.TooSlowError:
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL did not come back within {START_TIMEOUT:g} s after it "
                f"{reason}; see {server.logfile}"
            ) from None
        log.warning("embedded_postgres_restarted", pid=server.pid,
                    after_ms=round((trio.current_time() - started) * 1000))


async def _bound_log(logfile: Path) -> None:
    while True:
        await trio.sleep(LOG_CHECK_EVERY)
        if await trio.to_thread.run_sync(bound_log, logfile):
            log.info("embedded_postgres_log_rotated", path=str(logfile))


async def _stop(server: EmbeddedServer) -> None:
    if not server.owned:
        if server.pid:
            log.info("embedded_postgres_left_running", pid=server.pid, reason="another process owns it")
        return
    if not server.pid:  # never started: nothing to signal (and kill(0) would hit our own group)
        server.release()
        return
    with trio.CancelScope(shield=True):
        server.signal_stop()
        with trio.move_on_after(15) as scope:
            while not server.exited():  # noqa: ASYNC110 - polling a process
                await trio.sleep(0.05)
        if scope.cancelled_caught:
            server.kill()
        server.release()
        log.info("embedded_postgres_stopped", pid=server.pid)


@contextlib.asynccontextmanager
async def open_embedded_postgres(data_dir: Path, *, supervise: bool = False) -> AsyncIterator[str]:
    """Start (or adopt) the cluster under ``data_dir/postgres``; yield an admin DSN."""
    server = EmbeddedServer(data_dir)
    with trio.CancelScope(shield=True):
        fresh = await trio.to_thread.run_sync(server.prepare)
    if fresh:
        log.info("embedded_postgres_initialised", data_dir=str(server.pgdata), auth="peer")
    elif server.auth_upgraded:
        log.warning("embedded_postgres_auth_upgraded", data_dir=str(server.pgdata), auth="peer",
                    detail="pg_hba.conf and pg_ident.conf rewritten: only this OS user connects, by peer credentials")
    try:
        # started from the main thread on purpose: PDEATHSIG fires when the *thread* that forked exits
        server.spawn()
        if server.adopted:
            log.warning("embedded_postgres_adopted", pid=server.pid,
                        owner="us (its owner is gone)" if server.owned else "another process")
        await _ready(server, START_TIMEOUT)
        log.info("embedded_postgres_ready", pid=server.pid, socket_dir=str(server.sockdir))
        if not supervise:
            yield server.dsn()
            return
        async with trio.open_nursery() as nursery:
            nursery.start_soon(_watch, server)
            nursery.start_soon(_bound_log, server.logfile)
            yield server.dsn()
            nursery.cancel_scope.cancel()
    finally:
        await _stop(server)
