"""Deliveries per second to 1,000 Apprise json:// targets matched by one release.

    flock /tmp/vibed-bench.lock python tests/benchmarks/notify_targets.py [--targets 1000] [--repeat 3]
                                                                           [--workers 8,32]

On the embedded PostgreSQL (in a temporary directory): ``--targets`` notification targets, each a
json:// URL on one local receiver (a Trio HTTP/1.1 server in this process, answering 200 at once).
For each ``--workers`` value (``VIBED_NOTIFY_WORKERS``) one ``vibed run`` is started; then, ``--repeat``
times, one release is stored through the writer's ``write_batch`` (its transaction writes one outbox row
per target) and the clock runs from that commit to the last message received.  The flood guard is
lifted for the run (``VIBED_NOTIFY_FLOOD_LIMIT``), since every repeat sends to the same targets.

The floor, in the same run: the same number of Apprise sends of the same message from this process,
through the same ``send_blocking`` in ``trio.to_thread`` under a ``CapacityLimiter`` of the same size,
with no database and no daemon — what Apprise and its HTTP stack cost by themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")

import asyncpg  # noqa: E402
import trio  # noqa: E402

from tests.benchmarks.bench_daemon import embedded_postgres, on_database, running_quiet_daemon  # noqa: E402
from tests.webhook_receiver import open_receiver  # noqa: E402
from vibed.store.reader import init_connection as _init_connection  # noqa: E402
from vibed.store.releases import write_batch  # noqa: E402
from vibed.targets.compose import one  # noqa: E402
from vibed.targets.send import send_blocking  # noqa: E402
from vibed.vocab.messages import Artist, Release  # noqa: E402

DB = "notify_bench"


def bench_dsn(dsn: str) -> str:
    return on_database(dsn, DB)


async def prepare(dsn: str) -> None:
    admin = await asyncpg.connect(dsn)
    await admin.execute(f"DROP DATABASE IF EXISTS {DB}")
    await admin.execute(f"CREATE DATABASE {DB}")
    await admin.close()


async def add_targets(dsn: str, port: int, targets: int) -> None:
    """After the first daemon made the schema (its migrations run at start)."""
    conn = await asyncpg.connect(bench_dsn(dsn))
    if await conn.fetchval("SELECT count(*) FROM notify_targets"):
        await conn.close()
        return
    await conn.executemany(
        "INSERT INTO notify_targets (owner, url, shown_url, service) VALUES ('local', $1, $1, 'json')",
        [(f"json://127.0.0.1:{port}/hook/{n}",) for n in range(targets)])
    await conn.close()


async def store_one(dsn: str, n: int) -> None:
    pool = await asyncpg.create_pool(bench_dsn(dsn), min_size=1, max_size=1, init=_init_connection)
    release = Release(source="jiosaavn", external_id=f"bench-{n}", kind="album", title=f"Bench {n}",
                      artists=(Artist(f"a{n}", "Bench Artist"),), language="ml", url=f"https://example.test/{n}")
    await write_batch(pool, [release], 7)
    await pool.close()


async def daemon_runs(dsn: str, rx, args: argparse.Namespace, workers: int, workdir: str, serial: list[int]) -> list[float]:
    settings = {"VIBED_NOTIFY_WORKERS": str(workers), "VIBED_NOTIFY_FLOOD_LIMIT": "10000"}
    seconds: list[float] = []
    async with running_quiet_daemon(bench_dsn(dsn), workdir, settings) as (_, reader):

        async def drain_logs() -> None:  # a full pipe would stall the daemon's logging, and the daemon
            while await reader.readline() is not None:
                pass

        try:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drain_logs)
                await trio.to_thread.run_sync(lambda: asyncio.run(add_targets(dsn, rx.port, args.targets)))
                for _ in range(args.repeat):
                    serial[0] += 1
                    before = len(rx.received)
                    started = trio.current_time()
                    await trio.to_thread.run_sync(lambda: asyncio.run(store_one(dsn, serial[0])))
                    await rx.wait_for(before + args.targets, timeout=args.timeout)
                    seconds.append(trio.current_time() - started)
                nursery.cancel_scope.cancel()
        finally:
            troubles = [line for line in reader.lines if ('"level": "warning"' in line or '"level": "error"' in line)
                        and "control_unprotected" not in line]
            for line in troubles[:5]:
                print("  daemon:", line[:300], file=sys.stderr)
    return seconds


async def floor_runs(rx, args: argparse.Namespace, workers: int) -> list[float]:
    message = one({"title": "Floor", "artists": ["Bench Artist"], "language": "ml", "kind": "album"})
    limiter = trio.CapacityLimiter(workers)
    seconds = []
    for _ in range(args.repeat):
        before = len(rx.received)
        started = trio.current_time()
        async with trio.open_nursery() as nursery:
            for n in range(args.targets):
                nursery.start_soon(lambda n=n: trio.to_thread.run_sync(
                    send_blocking, f"json://127.0.0.1:{rx.port}/floor/{n}", message, limiter=limiter))
        await rx.wait_for(before + args.targets, timeout=args.timeout)
        seconds.append(trio.current_time() - started)
    return seconds


async def run(dsn: str, args: argparse.Namespace, workdir: str) -> None:
    async with open_receiver() as rx:
        await trio.to_thread.run_sync(lambda: asyncio.run(prepare(dsn)))
        serial = [0]
        for workers in args.workers:
            daemon = await daemon_runs(dsn, rx, args, workers, workdir, serial)
            floor = await floor_runs(rx, args, workers)
            d, f = statistics.median(daemon), statistics.median(floor)
            print(f"workers {workers:>3}: vibed {args.targets / d:7,.0f} deliveries/s (median of {len(daemon)}: "
                  f"{', '.join(f'{s:.2f}' for s in daemon)} s)   Apprise alone {args.targets / f:7,.0f}/s "
                  f"({', '.join(f'{s:.2f}' for s in floor)} s)   vibed/floor {f / d:.2f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--targets", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--workers", type=lambda v: [int(x) for x in v.split(",")], default=[8, 32])
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    with embedded_postgres("vibed-bench-notify-") as (dsn, workdir):
        trio.run(run, dsn, args, workdir)


if __name__ == "__main__":
    main()
