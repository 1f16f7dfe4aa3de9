"""Which database the daemon (and the operator's commands) use, and how to reach it.

The daemon's database is ``vibed`` on the embedded server, or the one ``DATABASE_URL`` names.
A simulated daemon (``--simulate``) never touches it: it uses a database of its own beside it,
``vibed_sim`` (embedded) or ``<name>_sim`` on the ``DATABASE_URL`` server, made on first use,
so its releases, events and token buckets are its own.

``vibed db`` and ``vibed bucket`` find the embedded server the way the daemon left it: a live
server (the daemon's) is used as it is; when none runs, one is started for the command and
stopped after it.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from vibed.config import Config, resolved_data_dir
from vibed.store.postgres import open_database, redact_dsn

SIM_SUFFIX = "_sim"


class DatabaseNotCreatable(RuntimeError):
    """The simulation's database does not exist and cannot be made; str() names the fix."""


def with_database(dsn: str, name: str) -> str:
    """The same server URL with another database name (socket and TCP URLs alike)."""
    return urlunsplit(urlsplit(dsn)._replace(path=f"/{name}"))


def database_name(config: Config) -> str:
    """The database this configuration uses on its server."""
    if config.database_url is None:
        base = "vibed"
    else:
        base = urlsplit(config.database_url).path.lstrip("/") or "postgres"
    return base + SIM_SUFFIX if config.simulate else base


def external_dsn(config: Config) -> str:
    """``DATABASE_URL``, pointed at the simulation's database under ``--simulate``."""
    return with_database(_database_url(config), database_name(config))


def _database_url(config: Config) -> str:
    if config.database_url is None:
        raise ValueError("DATABASE_URL is not set: this is the external server's URL")
    return config.database_url


def embedded_socket_dir(config: Config) -> Path:
    """Where the embedded server listens (or will): a live server's own word, else where it would."""
    from vibed.embedded.server import EmbeddedPostgresError, EmbeddedServer, _live_postmaster
    from vibed.embedded.socket_dir import preferred_socket_dir

    pgdata = EmbeddedServer(resolved_data_dir(config)).pgdata
    live = _live_postmaster(pgdata)
    where = live[1] if live else preferred_socket_dir(pgdata)
    if where is None:
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL is not running, and its socket directory is made afresh at each start "
            f"(a socket path under {pgdata} would be too long): start `vibed run`, then ask again")
    return where


def embedded_running(config: Config) -> bool:
    from vibed.embedded.server import EmbeddedServer, _live_postmaster

    return _live_postmaster(EmbeddedServer(resolved_data_dir(config)).pgdata) is not None


def connection_url(config: Config, *, show_password: bool = False) -> str:
    """A URL for ``psql`` and friends; the password is ``***`` unless asked for."""
    if config.database_url is None:
        from vibed.embedded.server import dsn_for

        return dsn_for(embedded_socket_dir(config), database_name(config))
    dsn = external_dsn(config)
    return dsn if show_password else redact_dsn(dsn)


async def ensure_database(admin_dsn: str, name: str) -> str:
    """Create database ``name`` on the server of ``admin_dsn`` when missing; its URL."""
    import asyncpg

    try:
        async with open_database(admin_dsn, pool_size=1, attempts=3, timeout=30) as admin:
            exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await admin.execute(f'CREATE DATABASE "{name}"')
    except asyncpg.InsufficientPrivilegeError:
        raise DatabaseNotCreatable(
            f"the database {name!r} does not exist and {redact_dsn(admin_dsn)} may not create it: "
            f'create it once (CREATE DATABASE "{name}") or give the user CREATEDB') from None
    except asyncpg.DuplicateDatabaseError:
        pass  # made by another process in the meantime
    return with_database(admin_dsn, name)


async def ensure_external_sim_database(config: Config) -> str:
    """The simulation's database on the ``DATABASE_URL`` server, made on first use."""
    from vibed.store.postgres import DatabaseUnreachable

    dsn = external_dsn(config)
    try:
        async with open_database(dsn, pool_size=1, attempts=1):
            return dsn
    except DatabaseUnreachable as exc:
        if "does not exist" not in str(exc):
            raise
    return await ensure_database(with_database(_database_url(config), "postgres"), database_name(config))


@contextlib.contextmanager
def embedded_server_for_command(config: Config, timeout: float = 60) -> Iterator[str]:
    """The embedded server's admin DSN: the running one, or one started until the command ends."""
    from vibed.embedded.root import make_data_dir
    from vibed.embedded.server import EmbeddedPostgresError, EmbeddedServer

    data_dir = resolved_data_dir(config)
    make_data_dir(data_dir)
    server = EmbeddedServer(data_dir)
    server.prepare()
    server.spawn()  # adopts the daemon's server when it runs
    try:
        deadline = time.monotonic() + timeout
        while not server.ready_now():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError("the embedded PostgreSQL did not become ready in time")
            time.sleep(0.1)
        yield server.dsn()
    finally:
        server.stop_blocking()  # only when this command owns it (started it, or took over an orphan)
