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

from tests.daemon_proc import Daemon, clean_env, free_port  # noqa: E402
from tests.pg_support import reachable_by_the_cluster_user  # noqa: E402
from vibed.embedded.server import EmbeddedServer  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.simulator import SimSettings, serve_simulator  # noqa: E402
from vibed.simulator.generate import make_release  # noqa: E402
from vibed.simulator.trace import IST, Trace  # noqa: E402
from vibed.store.migrations import migrate  # noqa: E402
from vibed.store.postgres import open_database  # noqa: E402

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
            if not history:
                return dsn
            past = Trace(seed=trace.seed + 1000, start=trace.start - HISTORY_DAYS * 86400, speed=trace.speed,
                         per_day=trace.per_day, languages=trace.languages, hours=HISTORY_DAYS * 24)
            ids, langs, seen = [], [], []
            for i, (t, lang) in enumerate(past.schedule()):
                ids.append(f"history-{i}")
                langs.append(lang)
                seen.append(dt.datetime.fromtimestamp(trace.wall0 + (t - trace.start) / trace.speed, dt.UTC))
            await db.execute(
                "INSERT INTO releases (source, external_id, kind, title, language, first_seen, release_date)"
                " SELECT 'jiosaavn', id, 'album', id, lang, at, (at AT TIME ZONE 'UTC')::date"
                " FROM unnest($1::text[], $2::text[], $3::timestamptz[]) AS h(id, lang, at)", ids, langs, seen)
    return dsn


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
                  languages=tuple(args.languages.split(",")), hours=args.hours)
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

    published: dict[str, float] = {}
    counters: dict[str, int] = {}
    for t, lang in trace.schedule():
        index = SEED_RELEASES + counters.get(lang, 0)
        counters[lang] = counters.get(lang, 0) + 1
        rel = make_release(args.seed, lang, index, released=today)
        if rel.kind != "playlist" and rel.language == lang and t < end:  # what a faithful client keeps
            published[rel.id] = t
    latencies = [(trace.start + (arrivals[i] - wall0) * trace.speed - t) / 60
                 for i, t in published.items() if i in arrivals]
    requests = sum(1 for t, _, _ in stats["log"]
                   if trace.start <= trace.start + (t + offset - wall0) * trace.speed < end)
    return {"recall": len(latencies) / max(1, len(published)), "published": len(published),
            "median": statistics.median(latencies) if latencies else float("nan"),
            "p90": quantile(latencies, 0.9), "max": max(latencies, default=float("nan")),
            "per_day": requests * 24 / args.hours}


async def main(admin_dsn: str, args: argparse.Namespace) -> None:
    results = {}
    with tempfile.TemporaryDirectory(prefix="vibed-detect-") as tmp:
        for mode in args.modes.split(","):
            results[mode] = await run_mode(admin_dsn, Path(tmp), mode, args)
            r = results[mode]
            print(f"{mode:9} recall {r['recall']:.1%} of {r['published']:.0f}  median {r['median']:.2f} min  "
                  f"p90 {r['p90']:.2f} min  max {r['max']:.1f} min  requests/day {r['per_day']:.0f}", flush=True)
    print(f"({len(args.languages.split(','))} languages, {args.hours:g} trace hours from Thursday 12:00 IST, "
          f"x{args.speed:g}, seed {args.seed}, budget 1000/day; targets for adaptive on 3 languages: "
          f"recall 100 %, median <= 3, p90 <= 8, <= 950 requests/day)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--languages", default="ml,hi,ta")
    parser.add_argument("--speed", type=float, default=480.0)
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-day", type=float, default=40.0, help="releases a day of a weight-1 language")
    parser.add_argument("--modes", default="cron,adaptive")
    parser.add_argument("--fresh", action="store_true", help="no history in the database: a new install")
    arguments = parser.parse_args()
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - the figures only, not migration lines
    with tempfile.TemporaryDirectory(prefix="vibed-bench-pg-") as pg_dir:
        reachable_by_the_cluster_user(Path(pg_dir), Path(pg_dir))  # as root: the cluster's user must reach it
        server = EmbeddedServer(Path(pg_dir))
        dsn = server.start_blocking()
        try:
            trio.run(main, dsn, arguments)
        finally:
            server.stop_blocking()
