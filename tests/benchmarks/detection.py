"""How soon releases are found, and at what cost: cron against adaptive polling on one release trace.

    python tests/benchmarks/detection.py [--languages ml,hi,ta] [--speed 480] [--hours 24] [--seed 1]

The simulator replays a seeded trace (``vibed/simulator/trace.py``: a midnight-IST drop, bigger on
Friday, a busy evening, a quiet afternoon, shuffled pages) on a clock sped up ``--speed`` times,
from Thursday noon IST.  For each polling mode a real ``vibed run`` (a subprocess, on its own
database in one embedded PostgreSQL) polls it on the same trace clock (``VIBED_TRACE_CLOCK``), with
the guide's bucket (1000 a day; its ``refill_interval`` divided by the speed, so it is a day of the
trace) and the default schedule ``*/10 * * * *``.  Both start with the same two weeks of history in
the database, as a daemon that has been running would (cron ignores it; adaptive learns from it).

Printed per mode: recall (releases a faithful client keeps, published in the window, that reached
the SSE stream), median and p90 latency from publish to the SSE frame in trace minutes, and upstream
requests per trace-day.  Figures, not assertions: the run is reported, not judged.

    --fresh                    a new install: no history in the database (the planner's first hour)
    --followed 20 --outside 5  20 followed artists (a watch follows them), 5 of them releasing only
                               outside the watched languages; their releases are reported apart, and
                               the requests spent on languages and on artists' pages
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
warnings.filterwarnings("ignore", category=DeprecationWarning)

import httpx  # noqa: E402
import trio  # noqa: E402
import trio_asyncio  # noqa: E402

from tests.benchmarks.bench_daemon import embedded_postgres  # noqa: E402
from tests.daemon_proc import Daemon, clean_env, free_port  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.simulator import SimSettings, serve_simulator  # noqa: E402
from vibed.simulator.catalogue import trace_release  # noqa: E402
from vibed.simulator.trace import IST, Trace  # noqa: E402
from vibed.store import watches  # noqa: E402
from vibed.store.migrations import migrate  # noqa: E402
from vibed.store.postgres import Database, open_database  # noqa: E402

START = dt.datetime(2026, 11, 26, 12, 0, tzinfo=IST).timestamp()  # a Thursday noon, IST
LEAD_S = 6.0  # wall seconds between starting the daemon and the trace's start
TAIL_MIN = 20.0  # trace minutes after the window for the last releases to arrive
HISTORY_DAYS = 14
SEED_RELEASES = 120


def quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def prepare(admin_dsn: str, name: str, trace: Trace, *, history: bool = True) -> str:
    """A fresh database: schema, the bucket on the trace clock, two weeks of history (unless a fresh install)."""
    async with trio_asyncio.open_loop():
        async with open_database(admin_dsn, pool_size=1) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
        dsn = admin_dsn.replace("/postgres?", f"/{name}?", 1)
        async with open_database(dsn, pool_size=2) as db:
            await migrate(db)
            await db.execute("UPDATE rate_limit_tokens SET tokens = 1000, max_tokens = 1000, refill_rate = 1000,"
                             " refill_interval = make_interval(secs => $1), last_refill = now()"
                             " WHERE service_name = 'jiosaavn'", 86400 / trace.speed)
            if trace.followed:
                await follow(db, trace, history)
            if not history:
                return dsn
            past = Trace(seed=trace.seed + 1000, start=trace.start - HISTORY_DAYS * 86400, speed=trace.speed,
                         per_day=trace.per_day, languages=trace.languages, hours=HISTORY_DAYS * 24,
                         followed=trace.followed, outside=trace.outside, artist_per_day=trace.artist_per_day)
            rows = [(f"history-{i}", lang, wall(trace, t), "[]") for i, (t, lang) in enumerate(past.schedule())]
            rows += [(f"history-a{i}", lang, wall(trace, t), json.dumps([{"id": a.id, "name": a.name}]))
                     for i, (t, lang, a) in enumerate(past.artist_schedule())]
            await db.execute(
                "INSERT INTO releases (source, external_id, kind, title, language, first_seen, release_date, artists)"
                " SELECT 'jiosaavn', id, 'album', id, lang, at, (at AT TIME ZONE 'UTC')::date, artists::jsonb"
                " FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[]) AS h(id, lang, at, artists)",
                *map(list, zip(*rows, strict=True)))
            await db.execute("SELECT vibed_index_artists(array_agg(id)) FROM releases"
                             " WHERE external_id LIKE 'history-a%'")
    return dsn


def wall(trace: Trace, t: float) -> dt.datetime:
    """The wall instant the trace clock shows ``t`` at."""
    return dt.datetime.fromtimestamp(trace.wall0 + (t - trace.start) / trace.speed, dt.UTC)


async def follow(db: Database, trace: Trace, history: bool) -> None:
    """The index knows each followed artist (an older release of theirs) and one watch follows them all;
    with history, their pages have been polled for as long as the history runs."""
    artists = trace.followed_artists()
    known = wall(trace, trace.start - (HISTORY_DAYS + 30) * 86400)
    await db.execute(
        "INSERT INTO releases (source, external_id, kind, title, language, first_seen, release_date, artists)"
        " SELECT 'jiosaavn', 'known-' || id, 'album', 'Earlier', lang, $4, ($4 AT TIME ZONE 'UTC')::date,"
        "        jsonb_build_array(jsonb_build_object('id', id, 'name', name))"
        " FROM unnest($1::text[], $2::text[], $3::text[]) AS a(id, name, lang)",
        [a.id for a, _ in artists], [a.name for a, _ in artists], [lang for _, lang in artists], known)
    await db.execute("SELECT vibed_index_artists(array_agg(id)) FROM releases WHERE external_id LIKE 'known-%'")
    ids = [r["artist_id"] for r in await db.fetch(
        "SELECT artist_id FROM artist_ids WHERE source = 'jiosaavn' AND external_id = ANY ($1::text[])",
        [a.id for a, _ in artists])]
    await watches.create(db, watches.WatchChange(name="benchmark", artists=ids))
    if history:
        await db.execute(
            "INSERT INTO fetch_state (source, scope, first_poll, last_poll, last_success)"
            " SELECT 'jiosaavn', 'artist:' || id, $2, $3, $3 FROM unnest($1::text[]) AS a(id)",
            [a.id for a, _ in artists], wall(trace, trace.start - HISTORY_DAYS * 86400),
            wall(trace, trace.start - 600))


async def listen(port: int, arrivals: dict[str, float], task_status=trio.TASK_STATUS_IGNORED) -> None:  # noqa: ANN001
    async with httpx.AsyncClient(timeout=None) as client:
        async with client.stream("GET", f"http://127.0.0.1:{port}/api/new-releases/stream") as response:
            task_status.started()
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event:"):
                    event = line[6:].strip()
                elif line.startswith("data:") and event == "new_release":
                    payload = json.loads(line[5:])
                    arrivals.setdefault(payload.get("external_id") or payload["release"]["external_id"],
                                        time.time())


async def run_mode(admin_dsn: str, workdir: Path, mode: str, args: argparse.Namespace) -> dict[str, float]:
    wall0 = time.time() + LEAD_S + 4.0  # + the database's preparation
    trace = Trace(seed=args.seed, start=START, wall0=wall0, speed=args.speed, per_day=args.per_day,
                  languages=tuple(args.languages.split(",")), hours=args.hours, followed=args.followed,
                  outside=args.outside, artist_per_day=args.artist_per_day)
    dsn = await prepare(admin_dsn, f"detect_{mode}", trace, history=not args.fresh)
    today = dt.datetime.now(dt.UTC).date()
    settings = SimSettings(seed=args.seed, seed_releases=SEED_RELEASES, new_per_minute=0, today=today, trace=trace)
    arrivals: dict[str, float] = {}
    end = trace.start + args.hours * 3600
    async with trio.open_nursery() as nursery:
        sim_url = await nursery.start(partial(serve_simulator, settings=settings))
        offset = time.time() - trio.current_time()  # the simulator logs trio time; this makes it wall time
        port = free_port()
        (workdir / mode).mkdir(exist_ok=True)
        env = clean_env(DATABASE_URL=dsn, JIOSAAVN_BASE_URL=sim_url, PORT=str(port), VIBED_HOST="127.0.0.1",
                        VIBED_LANGUAGES=args.languages, VIBED_SCHEDULE="*/10 * * * *", VIBED_POLLING=mode,
                        VIBED_TRACE_CLOCK=f"{wall0},{trace.start},{trace.speed}")
        daemon = Daemon(workdir / mode, env)
        try:
            await trio.to_thread.run_sync(daemon.wait_healthy, 60)
            await nursery.start(listen, port, arrivals)
            while trace.now() < end + TAIL_MIN * 60:
                await trio.sleep(0.5)
            stats = (await httpx.AsyncClient().get(f"{sim_url}/_sim/stats")).json()
        finally:
            await trio.to_thread.run_sync(daemon.stop)
        nursery.cancel_scope.cancel()

    published: dict[str, float] = {}  # everything a faithful client keeps in the watched languages
    followed: dict[str, float] = {}  # the followed artists' albums, in any language
    outside: set[str] = set()
    for lang, entries in trace.published().items():
        for k, (t, artist) in enumerate(entries):
            rel, _ = trace_release(settings, lang, k)
            if t >= end or rel.kind == "playlist" or rel.language != lang:
                continue
            if lang in trace.languages:
                published[rel.id] = t
            if artist is not None:
                followed[rel.id] = t
                if lang not in trace.languages:
                    outside.add(rel.id)

    def figures(which: dict[str, float]) -> dict[str, float]:
        latencies = [(trace.start + (arrivals[i] - wall0) * trace.speed - t) / 60
                     for i, t in which.items() if i in arrivals]
        return {"recall": len(latencies) / max(1, len(which)), "published": len(which),
                "median": statistics.median(latencies) if latencies else float("nan"),
                "p90": quantile(latencies, 0.9), "max": max(latencies, default=float("nan"))}

    spent = [scope for t, scope, _ in stats["log"]
             if trace.start <= trace.start + (t + offset - wall0) * trace.speed < end]
    on_artists = sum(1 for scope in spent if scope.startswith("artist:"))
    result = figures(published) | {"per_day": len(spent) * 24 / args.hours,
                                   "artists_per_day": on_artists * 24 / args.hours,
                                   "languages_per_day": (len(spent) - on_artists) * 24 / args.hours}
    if followed:
        result |= {f"followed_{k}": v for k, v in figures(followed).items()}
        result |= {f"outside_{k}": v for k, v in figures({i: followed[i] for i in outside}).items()}
    return result


async def main(admin_dsn: str, args: argparse.Namespace) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="vibed-detect-") as tmp:
        for mode in args.modes.split(","):
            results[mode] = await run_mode(admin_dsn, Path(tmp), mode, args)
            r = results[mode]
            print(f"{mode:9} recall {r['recall']:.1%} of {r['published']:.0f}  median {r['median']:.2f} min  "
                  f"p90 {r['p90']:.2f} min  max {r['max']:.1f} min  requests/day {r['per_day']:.0f} "
                  f"(languages {r['languages_per_day']:.0f}, artists {r['artists_per_day']:.0f})", flush=True)
            for part, label in (("followed", "followed artists"), ("outside", "  of them outside")):
                if f"{part}_recall" in r:
                    print(f"  {label:18} recall {r[f'{part}_recall']:.1%} of {r[f'{part}_published']:.0f}  "
                          f"median {r[f'{part}_median']:.2f} min  p90 {r[f'{part}_p90']:.2f} min  "
                          f"max {r[f'{part}_max']:.1f} min", flush=True)
    print(f"({len(args.languages.split(','))} languages, {args.hours:g} trace hours from Thursday 12:00 IST, "
          f"x{args.speed:g}, seed {args.seed}, budget 1000/day, "
          f"{'a fresh install (no history)' if args.fresh else f'{HISTORY_DAYS} days of history'}"
          f"{f', {args.followed} followed artists ({args.outside} outside the languages)' if args.followed else ''};"
          f" targets for adaptive on 3 languages: recall 100 %, median <= 3, p90 <= 8, <= 950 requests/day;"
          f" followed: recall 100 %, median <= 5)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="ml,hi,ta")
    parser.add_argument("--speed", type=float, default=480.0)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-day", type=float, default=40.0, help="releases a day of a weight-1 language")
    parser.add_argument("--modes", default="cron,adaptive")
    parser.add_argument("--fresh", action="store_true", help="no history in the database: a new install")
    parser.add_argument("--followed", type=int, default=0, help="followed artists (one watch follows them)")
    parser.add_argument("--outside", type=int, default=0, help="of them, releasing outside --languages")
    parser.add_argument("--artist-per-day", type=float, default=1.0, help="albums a day of a followed artist")
    arguments = parser.parse_args()
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - the figures only, not migration lines
    with embedded_postgres("vibed-bench-pg-") as (dsn, _):
        trio.run(main, dsn, arguments)
