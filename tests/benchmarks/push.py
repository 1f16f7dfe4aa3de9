"""How fast one release reaches 10,000 Web Push subscriptions: encrypted, signed, sent, decrypted.

    flock /tmp/vibed-bench.lock python tests/benchmarks/push.py [--subscriptions 10000] [--concurrency 64]
                                                                [--repeat 3]

On the embedded PostgreSQL (in a temporary directory): ``--subscriptions`` browsers, each with its
own P-256 key and auth secret, subscribed to a local push service (tests/push_service.py: a Trio
HTTP/1.1 server in this process that checks every VAPID JWT and decrypts every message with the
browser's private key).  ``vibed run`` (a subprocess) is started; then one release is stored through
the writer's ``write_batch`` — one transaction, one event, one push_outbox row per subscription —
and the clock runs from that commit to the last message decrypted.  Each round stores one more
release; the figure is the median of ``--repeat`` rounds.  What bounds it is told by the CPU
seconds each process used in the round: the daemon (claim, encrypt, sign, send, record), this
process (the push service: HTTP, JWT check, decryption) and PostgreSQL (everything else).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")

import asyncpg  # noqa: E402
import trio  # noqa: E402

from tests.benchmarks.bench_daemon import embedded_postgres, on_database, running_quiet_daemon  # noqa: E402
from tests.push_service import PushService, open_push_service  # noqa: E402
from vibed.push.crypto import encrypt  # noqa: E402
from vibed.store.migrations import _apply as apply_migrations  # noqa: E402
from vibed.store.migrations import load_migrations  # noqa: E402
from vibed.store.reader import init_connection as _init_connection  # noqa: E402
from vibed.store.releases import write_batch  # noqa: E402
from vibed.vocab.messages import Artist, Release  # noqa: E402


def bench_dsn(dsn: str) -> str:
    return on_database(dsn, "push_bench")


async def prepare(dsn: str, push: PushService, count: int) -> None:
    admin = await asyncpg.connect(dsn)
    await admin.execute("DROP DATABASE IF EXISTS push_bench")
    await admin.execute("CREATE DATABASE push_bench")
    await admin.close()
    pool = await asyncpg.create_pool(bench_dsn(dsn), min_size=1, max_size=1, init=_init_connection)
    await apply_migrations(pool, load_migrations())  # recorded, as the daemon's own start would
    await pool.close()
    conn = await asyncpg.connect(bench_dsn(dsn))
    browsers = [push.browser(f"b{n}") for n in range(count)]
    await conn.execute("INSERT INTO push_subscriptions (endpoint, p256dh, auth) "
                       "SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[])",
                       [b.endpoint for b in browsers], [b.p256dh for b in browsers], [b.auth for b in browsers])
    await conn.close()


async def store_one(dsn: str, n: int) -> float:
    """One release through the writer's transaction; the seconds it took (the outbox rows included)."""
    pool = await asyncpg.create_pool(bench_dsn(dsn), min_size=1, max_size=1, init=_init_connection)
    release = Release(source="jiosaavn", external_id=f"push-bench-{n}", kind="album", title=f"Push Bench {n}",
                      artists=(Artist(f"a{n}", "Bench Artist"),), language="ml", release_date=dt.date.today(),
                      url=f"https://example.test/{n}", image="https://example.test/cover.jpg")
    started = time.perf_counter()
    await write_batch(pool, [release], 7)
    took = time.perf_counter() - started
    await pool.close()
    return took


def cpu_seconds(pid: int | None = None) -> float:
    if pid is None:
        times = os.times()
        return times.user + times.system
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu(data: Path) -> float:
    """The embedded cluster's CPU seconds: the postmaster, its reaped children and the live ones."""
    pid = int(next(data.rglob("postmaster.pid")).read_text().split()[0])
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    total = sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            with contextlib.suppress(OSError):
                total += cpu_seconds(int(child))
    return total


def encrypt_cost(push: PushService, samples: int = 2000) -> float:
    browser = next(iter(push.browsers.values()))
    plain = b'{"event_id":1,"title":"Push Bench","artists":["Bench Artist"],"cover":null,"url":null}'
    started = time.perf_counter()
    for _ in range(samples):
        encrypt(plain, browser.p256dh, browser.auth)
    return (time.perf_counter() - started) / samples


async def run(dsn: str, args: argparse.Namespace, workdir: str) -> None:
    async with open_push_service() as push:
        started = time.perf_counter()
        await trio.to_thread.run_sync(lambda: asyncio.run(prepare(dsn, push, args.subscriptions)))
        print(f"{args.subscriptions:,} subscriptions made in {time.perf_counter() - started:.1f} s", file=sys.stderr)
        profile = ["-m", "cProfile", "-o", args.profile] if args.profile else []
        settings = {"VIBED_WEBHOOK_ALLOW_HTTP": "true", "VIBED_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
                    "VIBED_WEBHOOK_POLL": "0.05", "VIBED_PUSH_CONCURRENCY": str(args.concurrency)}
        rates, rows = [], []
        async with running_quiet_daemon(bench_dsn(dsn), workdir, settings, profile) as (process, _):
            for n in range(args.repeat):
                expected = push.count + args.subscriptions
                daemon_cpu, own_cpu, pg_cpu = cpu_seconds(process.pid), cpu_seconds(), postgres_cpu(Path(workdir))
                started = trio.current_time()
                write_s = await trio.to_thread.run_sync(lambda n=n: asyncio.run(store_one(dsn, n)))
                await push.wait_for(expected, timeout=args.timeout)
                seconds = trio.current_time() - started
                daemon_used, own_used = cpu_seconds(process.pid) - daemon_cpu, cpu_seconds() - own_cpu
                pg_used = postgres_cpu(Path(workdir)) - pg_cpu
                rates.append(args.subscriptions / seconds)
                rows.append((seconds, write_s, daemon_used, own_used, pg_used))
                print(f"round {n + 1}: {args.subscriptions:,} pushes in {seconds:.2f} s = "
                      f"{args.subscriptions / seconds:,.0f}/s (the write with its outbox rows {write_s:.2f} s; "
                      f"CPU: daemon {daemon_used:.1f} s, push service {own_used:.1f} s, PostgreSQL {pg_used:.1f} s)",
                      file=sys.stderr)
        per_browser_ok = all(
            [m["event_id"] for m in msgs] == sorted(m["event_id"] for m in msgs) and len(msgs) == args.repeat
            for msgs in push.messages.values())
        cost = encrypt_cost(push)
    median = statistics.median(rates)
    seconds, write_s, daemon_used, own_used, pg_used = rows[rates.index(median)] if median in rates else rows[0]
    print(f"{args.subscriptions:,} subscriptions matched by one release (concurrency {args.concurrency}): "
          f"median {median:,.0f} pushes/s over {args.repeat} rounds ({', '.join(f'{r:,.0f}' for r in rates)})")
    print(f"  every message decrypted by the push service, each browser got each release once, in order: "
          f"{per_browser_ok and not push.rejected}")
    print(f"  in the median round ({seconds:.2f} s): daemon CPU {daemon_used:.2f} s ({daemon_used / seconds:.0%} of "
          f"a core), push service CPU {own_used:.2f} s ({own_used / seconds:.0%}), PostgreSQL CPU {pg_used:.2f} s "
          f"({pg_used / seconds:.0%}); the write and its "
          f"{args.subscriptions:,} outbox rows {write_s:.2f} s")
    print(f"  RFC 8291 encryption alone: {cost * 1e6:.0f} µs a message = "
          f"{cost * args.subscriptions:.2f} s of the daemon's CPU per release")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=600.0)
    parser.add_argument("--profile", help="write the daemon's cProfile statistics to this file")
    args = parser.parse_args()
    with embedded_postgres("vibed-bench-push-") as (dsn, workdir):
        trio.run(run, dsn, args, workdir)


if __name__ == "__main__":
    main()
