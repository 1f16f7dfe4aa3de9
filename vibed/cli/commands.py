"""The bodies of the CLI commands.  Each returns the process exit code."""

from __future__ import annotations

import argparse
import http.client
import json
import resource
import sys
import urllib.error
import urllib.request
from functools import partial
from typing import Any

import trio

from vibed.config import Config
from vibed.logs import get_logger

log = get_logger("vibed")


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        return hard
    return soft


def _startup_error(exc: BaseException) -> int:
    from vibed.embedded.datadir_lock import DataDirBusy
    from vibed.embedded.server import EmbeddedPostgresError
    from vibed.embedded.target import DatabaseNotCreatable
    from vibed.store.migrations import MigrationsMissing
    from vibed.store.postgres import DatabaseUnreachable
    from vibed.supervisor import TooManyCrashes

    exc = _leaf(exc)
    if isinstance(exc, KeyboardInterrupt):
        return 130
    if isinstance(exc, (DatabaseUnreachable, EmbeddedPostgresError, TooManyCrashes, DataDirBusy,
                        DatabaseNotCreatable, MigrationsMissing)):
        message = str(exc)
    elif isinstance(exc, OSError) and exc.errno == 98:
        message = f"the HTTP port is already in use ({exc.strerror}): stop the other process or set PORT"
    elif isinstance(exc, OSError):
        message = f"{exc.strerror or exc} ({getattr(exc, 'filename', '') or type(exc).__name__})"
    else:
        raise exc
    log.error("daemon_failed", error=message)
    print(f"vibed: {message}", file=sys.stderr)
    return 1


def _loader(args: argparse.Namespace) -> Any:
    """Reload reads the file and .env again, with the environment and flags as they were at start.

    A variable that came into the environment from the env file itself (systemd's
    ``EnvironmentFile=`` of the same file as ``--env-file``) is the file's to change: it is left out
    of the frozen environment, so the file's new text is what a reload reads.
    """
    import os
    from pathlib import Path

    from dotenv import dotenv_values

    from vibed.config import SETTINGS, load_config

    at_start = dotenv_values(args.env_file) if args.env_file and Path(args.env_file).exists() else {}
    environ = {k: v for k, v in os.environ.items() if not (k in at_start and at_start[k] == v)}
    overrides = {s.field: getattr(args, s.field, None) for s in SETTINGS if hasattr(args, s.field)}
    return partial(load_config, overrides, environ=environ, env_file=args.env_file, config_file=args.config)


def run(config: Config, args: argparse.Namespace) -> int:
    from vibed.daemon import serve_daemon

    fds = _raise_fd_limit()
    log.debug("fd_limit", nofile=fds)
    try:
        trio.run(partial(serve_daemon, config, loader=_loader(args)))
    except BaseException as exc:  # noqa: BLE001 - every start-up failure becomes one clear line
        return _startup_error(exc)
    return 0


def migrate(config: Config, args: argparse.Namespace) -> int:
    from vibed.daemon import open_store
    from vibed.store.aio_loop import open_asyncio_loop

    async def _main() -> None:
        async with open_asyncio_loop(), open_store(config, daemon=False):
            log.info("migrations_done")

    try:
        trio.run(_main)
    except BaseException as exc:  # noqa: BLE001
        return _startup_error(exc)
    return 0


def _trace(args: argparse.Namespace) -> Any:
    import datetime as dt
    import time

    from vibed.simulator.trace import Trace

    if args.trace_speed <= 0:
        raise SystemExit(f"vibed: --trace-speed must be above 0, not {args.trace_speed:g}")
    wall = time.time()
    start = wall
    if args.trace_start:
        try:
            when = dt.datetime.fromisoformat(args.trace_start)
        except ValueError:
            raise SystemExit(f"vibed: --trace-start {args.trace_start!r} is not ISO 8601, "
                             "e.g. 2026-11-26T12:00+05:30") from None
        start = (when if when.tzinfo else when.replace(tzinfo=dt.UTC)).timestamp()
    languages = tuple(code.strip() for code in args.trace_languages.split(",") if code.strip())
    if not 0 <= args.trace_outside <= args.trace_followed:
        raise SystemExit("vibed: --trace-outside must be between 0 and --trace-followed")
    return Trace(seed=args.seed or 1, start=start, wall0=wall, speed=args.trace_speed, languages=languages,
                 hours=24 * 7, followed=args.trace_followed, outside=args.trace_outside)


def simulate(args: argparse.Namespace) -> int:
    from vibed.logs import configure_logging
    from vibed.simulator import SimSettings, serve_simulator

    configure_logging()
    kwargs: dict[str, Any] = {"quirks": frozenset(args.quirk)}
    if args.new_per_minute is not None:
        kwargs["new_per_minute"] = args.new_per_minute
    if args.seed is not None:
        kwargs["seed"] = args.seed
    if args.trace_speed is not None:
        kwargs["trace"] = _trace(args)
        kwargs["new_per_minute"] = 0
    settings = SimSettings(**kwargs)

    async def _main() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(lambda task_status: serve_simulator(
                args.host, args.port, settings=settings, task_status=task_status))
            log.info("simulator_started", url=url)
            if settings.trace is not None:
                trace = settings.trace
                log.info("simulator_trace", speed=trace.speed, releases=len(trace.schedule()),
                         trace_clock=f"{trace.wall0:.3f},{trace.start:.3f},{trace.speed:g}")

    try:
        trio.run(_main)
    except BaseException as exc:  # the nursery hands Ctrl-C and a bind failure over in a group
        leaf = _leaf(exc)
        if isinstance(leaf, KeyboardInterrupt):
            return 0
        if isinstance(leaf, OSError):
            print(f"vibed: cannot serve the simulator on {args.host}:{args.port}: {leaf.strerror}", file=sys.stderr)
            return 1
        raise
    return 0


def token(config: Config, args: argparse.Namespace) -> int:
    from vibed.config.parsing import parse_duration
    from vibed.http.auth import issue_token

    if not config.jwt_secret:
        print("vibed: JWT_SECRET is not set: set it (in the environment or .env) to issue tokens",
              file=sys.stderr)
        return 2
    try:
        ttl = parse_duration(args.ttl)
    except ValueError as exc:
        print(f"vibed: --ttl {args.ttl!r} {exc}", file=sys.stderr)
        return 2
    if ttl > config.jwt_max_ttl:
        print(f"vibed: --ttl {args.ttl!r} is longer than VIBED_JWT_MAX_TTL ({config.jwt_max_ttl:g} s): "
              "the daemon would refuse the token; ask for less or raise VIBED_JWT_MAX_TTL", file=sys.stderr)
        return 2
    print(issue_token(config.jwt_secret, ttl=ttl, subject=args.subject, audience=config.jwt_audience))
    return 0


def status(config: Config, args: argparse.Namespace) -> int:
    from vibed.cli.status import render_status
    from vibed.health.render import from_json

    url = f"http://127.0.0.1:{config.port}/api/health"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            raw, code = response.read(), response.status
    except urllib.error.HTTPError as exc:
        raw, code = exc.read() or b"{}", exc.code
    except (urllib.error.URLError, OSError) as exc:
        print(f"vibed: no daemon answers at {url}: {getattr(exc, 'reason', exc)}", file=sys.stderr)
        return 3
    except http.client.HTTPException as exc:  # something that is not an HTTP server
        print(f"vibed: {url} does not answer HTTP ({type(exc).__name__}): is PORT={config.port} vibed's port? "
              "(--port or PORT)", file=sys.stderr)
        return 2
    try:
        body = json.loads(raw)
        if not isinstance(body, dict) or "status" not in body:
            raise ValueError("no status")
    except ValueError:
        print(f"vibed: {url} answered {code} without vibed's health JSON: is PORT={config.port} vibed's port? "
              "(--port or PORT)", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(body, indent=2))
    report = from_json(body)
    if not args.json:
        print(render_status(report))
    return 0 if code == 200 and report.status == "ok" else 1
