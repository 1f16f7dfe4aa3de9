"""``vibed``: run | migrate | simulate | token | status | db | bucket | backfill.  Errors a user sees are one line, not a traceback."""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import vibed
from vibed.cli import backfill as commands_backfill
from vibed.cli import db as commands_db
from vibed.cli.arguments import OneLineParser
from vibed.config import SETTINGS, ConfigError, load_config, secrets_of


def _env_help() -> str:
    lines = ["environment (flags > environment > .env > TOML file > defaults):"]
    for s in SETTINGS:
        default = "" if s.default in (None, (), "") or str(s.default) == "" else f" [default: {_show(s.default)}]"
        lines.append(f"  {s.env:<26} {s.help}{default}")
    return "\n".join(lines)


def _show(value: Any) -> str:
    return ",".join(f"{v:g}s" if isinstance(v, float) else str(v) for v in value) if isinstance(value, tuple) else str(value)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="FILE", help="TOML file (default: config/vibed.toml if present)")
    parser.add_argument("--env-file", metavar="FILE", default=None,
                        help="dotenv file (default: ./.env when there is one); a file named here must exist")


def build_parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = OneLineParser(
        prog="vibed", description="Real-time new releases for Indian-language music.",
        epilog=_env_help(), formatter_class=fmt,
    )
    parser.add_argument("--version", action="version", version=f"vibed {vibed.__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the daemon", epilog=_env_help(), formatter_class=fmt,
                         description="Run the daemon: poll catalogs, store releases, stream them over SSE.")
    _common(run)
    for s in SETTINGS:
        if s.flag is None:
            continue
        if s.flag == "--debug":
            run.add_argument(s.flag, dest=s.field, nargs="?", const="true", metavar="NAMESPACES",
                             help="debug lines: --debug alone prints all of vibed's (DEBUG=true); --debug "
                                  "'edge,stream' only those namespaces, in DEBUG's syntax (env DEBUG: " + s.help + ")")
        elif s.flag == "--simulate":
            run.add_argument(s.flag, dest=s.field, action="store_const", const="true", help=s.help)
        else:
            run.add_argument(s.flag, dest=s.field, metavar=s.env, help=f"{s.help} (env {s.env})")

    mig = sub.add_parser("migrate", help="apply pending schema migrations and exit", epilog=_env_help(),
                         formatter_class=fmt)
    _common(mig)
    mig.add_argument("--data-dir", dest="data_dir", metavar="VIBED_DATA_DIR")

    sim = sub.add_parser("simulate", help="run the JioSaavn/Spotify upstream simulator",
                         description="Serve JioSaavn- and Spotify-compatible APIs with a growing catalogue "
                                     "and fault knobs (see README).")
    sim.add_argument("--host", default="127.0.0.1")
    sim.add_argument("--port", type=int, default=5099)
    sim.add_argument("--new-per-minute", type=float, default=None, help="new releases per language per minute")
    sim.add_argument("--seed", type=int, default=None)
    sim.add_argument("--trace-speed", type=float, default=None,
                     help="trace mode: release on a seeded schedule (midnight-IST drops, Fridays, quiet "
                          "afternoons) on a clock this many times faster; logs the VIBED_TRACE_CLOCK to give vibed")
    sim.add_argument("--trace-start", default=None,
                     help="trace mode: the trace's first instant, ISO 8601 (default: now)")
    sim.add_argument("--trace-languages", default="ml,hi,ta", help="trace mode: languages with releases")
    sim.add_argument("--trace-followed", type=int, default=0,
                     help="trace mode: followed artists (ids 8100000..) who also publish albums")
    sim.add_argument("--trace-outside", type=int, default=0,
                     help="trace mode: of the followed artists, those releasing outside --trace-languages")
    sim.add_argument("--quirk", action="append", default=[], choices=["other_language"],
                     help="ask for a quirk: other_language mixes about 1 item in 12 of another language in")

    tok = sub.add_parser("token", help="print a JWT for the control endpoints (needs JWT_SECRET)",
                         epilog=_env_help(), formatter_class=fmt)
    _common(tok)
    tok.add_argument("--ttl", default="1h", help="lifetime, e.g. 15m, 1h, 1d (default 1h)")
    tok.add_argument("--subject", default="operator")

    status = sub.add_parser("status", help="ask the running daemon how it is doing; non-zero when unhealthy",
                            epilog=_env_help(), formatter_class=fmt)
    _common(status)
    status.add_argument("--port", dest="port", metavar="PORT")
    status.add_argument("--json", action="store_true", help="print the raw health JSON")
    commands_db.add_parsers(sub, _common)
    commands_backfill.add_parser(sub, _common)
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"vibed: {message}", file=sys.stderr)
    return code


def _quiet_dependencies() -> None:
    # libraries' own warnings (e.g. platformdirs about XDG_RUNTIME_DIR as root) are not for our stdout
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if getattr(args, "db_command", None) == "psql":
        args.psql_args = extra  # `vibed db psql -c 'SELECT 1'`: psql's own arguments, in order
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is None:
        parser.print_help()
        return 2
    _quiet_dependencies()
    if getattr(args, "env_file", None) is not None and not Path(args.env_file).is_file():
        return _fail(f"--env-file {args.env_file!r} does not exist: give the path of a dotenv file, or leave "
                     "the flag out (./.env is read when there is one)")
    if hasattr(args, "env_file"):
        args.env_file = args.env_file or ".env"  # a reload reads the same file again
    overrides = {s.field: getattr(args, s.field, None) for s in SETTINGS if hasattr(args, s.field)}
    try:
        if args.command == "simulate":
            from vibed.cli.commands import simulate

            return simulate(args)
        config = load_config(overrides, env_file=args.env_file, config_file=args.config)
    except ConfigError as exc:
        return _fail(str(exc))

    from vibed.cli import commands
    from vibed.logs import configure_logging

    # an operator's command prints its answer on stdout; its log lines go to stderr
    operator = args.command in ("db", "bucket")
    configure_logging(debug=config.debug, secrets=secrets_of(config), stream=sys.stderr if operator else None)
    try:
        module = commands_db if operator else commands_backfill if args.command == "backfill" else commands
        code: int = getattr(module, args.command)(config, args)
        return code
    except ConfigError as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130

