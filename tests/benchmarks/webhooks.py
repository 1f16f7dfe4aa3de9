"""How fast a queue of webhook deliveries drains: 10,000 queued, one ``vibed run``, one receiver.

    python tests/benchmarks/webhooks.py [--deliveries 10000] [--targets 10] [--rate 1000] [--concurrency 16]

On the embedded PostgreSQL (in a temporary directory): ``--targets`` subscriptions to one local
receiver (a Trio HTTP/1.1 server in this process, answering 200 at once) and enough releases
stored through the writer's ``write_batch`` to queue ``--deliveries`` outbox rows — all queued
before the daemon starts.  Then ``vibed run`` (a subprocess; ``VIBED_WEBHOOK_RATE`` per target,
``VIBED_WEBHOOK_CONCURRENCY``) drains them; the clock runs from ``daemon_ready`` to the last
delivery received.  Every 100th delivery's signature is checked with ``standardwebhooks``.
Each target's line is sent one delivery at a time, in order, so the drain rate grows with the
number of targets up to the concurrency.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")

import asyncpg  # noqa: E402
import trio  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from tests.benchmarks.bench_daemon import embedded_postgres, on_database, running_quiet_daemon  # noqa: E402
from tests.webhook_receiver import open_receiver  # noqa: E402
from vibed.store.migrations import _apply as apply_migrations  # noqa: E402
from vibed.store.migrations import load_migrations  # noqa: E402
from vibed.store.reader import init_connection as _init_connection  # noqa: E402
from vibed.store.releases import write_batch  # noqa: E402
from vibed.vocab.messages import Artist, Release  # noqa: E402
from vibed.webhooks.signing import new_secret  # noqa: E402


async def prepare(dsn: str, receiver_url: str, args: argparse.Namespace) -> dict[int, str]:
    """A fresh database with the subscriptions and the queued deliveries; {webhook id: secret}."""
    admin = await asyncpg.connect(dsn)
    await admin.execute("DROP DATABASE IF EXISTS webhook_bench")
    await admin.execute("CREATE DATABASE webhook_bench")
    await admin.close()
    pool = await asyncpg.create_pool(bench_dsn(dsn), min_size=1, max_size=2, init=_init_connection)
    await apply_migrations(pool, load_migrations())  # recorded, as the daemon's own start would
    secrets = {}
    for n in range(args.targets):
        secret = new_secret()
        wid = await pool.fetchval("INSERT INTO webhooks (url, format, secret, owner) VALUES ($1, 'generic', $2, 'local') RETURNING id",
                                  f"{receiver_url}/{n}", secret)
        secrets[wid] = secret
    releases = args.deliveries // args.targets
    today = dt.date.today()
    batch = [Release(source="jiosaavn", external_id=f"bench-{i}", kind="album", title=f"Bench {i}",
                     artists=(Artist(f"a{i}", "Bench Artist"),), language="ml", release_date=today,
                     url=f"https://example.test/{i}") for i in range(releases)]
    for start in range(0, releases, 150):  # the writer's batches: events and outbox rows in one transaction each
        await write_batch(pool, batch[start:start + 150], 7)
    queued = await pool.fetchval("SELECT count(*) FROM webhook_outbox WHERE state = 'pending'")
    await pool.close()
    print(f"queued {queued:,} deliveries to {args.targets} targets", file=sys.stderr)
    return secrets


def bench_dsn(dsn: str) -> str:
    return on_database(dsn, "webhook_bench")


async def drain(dsn: str, args: argparse.Namespace, workdir: str) -> None:
    async with open_receiver() as rx:
        secrets = await trio.to_thread.run_sync(lambda: asyncio.run(prepare(dsn, rx.url, args)))
        total = (args.deliveries // args.targets) * args.targets
        settings = {"VIBED_WEBHOOK_ALLOW_HTTP": "true", "VIBED_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
                    "VIBED_WEBHOOK_RATE": str(args.rate), "VIBED_WEBHOOK_CONCURRENCY": str(args.concurrency)}
        async with running_quiet_daemon(bench_dsn(dsn), workdir, settings):
            started = trio.current_time()
            with trio.fail_after(args.timeout):
                await rx.wait_for(total, timeout=args.timeout)
            seconds = trio.current_time() - started
    by_target = {}
    for got in rx.received:
        by_target.setdefault(got.target, []).append(int(got.headers["webhook-id"].removeprefix("msg_")))
    in_order = all(ids == sorted(ids) for ids in by_target.values())
    once = len({g.headers["webhook-id"] for g in rx.received}) == len(rx.received) == total
    checked = 0
    wid_of = {f"/hook/{n}": wid for n, wid in enumerate(sorted(secrets))}
    for got in rx.received[::100]:
        Webhook(secrets[wid_of[got.target]]).verify(got.body, got.headers)
        checked += 1
    print(f"{total:,} deliveries to {args.targets} targets (rate {args.rate}/s per target, concurrency "
          f"{args.concurrency}): drained in {seconds:.2f} s = {total / seconds:,.0f} deliveries/s")
    print(f"  each once: {once}; in order per target: {in_order}; {checked} signatures verified")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=10_000)
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--rate", type=float, default=1000.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--timeout", type=float, default=600.0)
    args = parser.parse_args()
    with embedded_postgres("vibed-bench-wh-") as (dsn, workdir):
        trio.run(drain, dsn, args, workdir)


if __name__ == "__main__":
    main()
