"""Throughput and p99 of ``GET /api/new-releases?language=ml&limit=25`` over 100,000 stored releases.

    python tests/benchmarks/api_list.py [--rows 100000] [--duration 10] [--runs 3]

Starts an embedded PostgreSQL (or uses DATABASE_URL's server), fills a fresh database with
``write_batch`` in batches, runs the daemon in-process (API rate limit off) and drives it with
``wrk`` (Debian package) at 50 connections, with and without ``If-None-Match``.  Prints the
machine, each command, and the median of the runs.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import shutil
import statistics
import sys
import tempfile
from functools import partial
from pathlib import Path

import httpx
import trio
import trio_asyncio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from tests.api_support import _Stop, api_config, http_port  # noqa: E402
from vibed.daemon import serve_daemon  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.messages import Artist, Release  # noqa: E402
from vibed.store.embedded import EmbeddedServer  # noqa: E402
from vibed.store.migrations import migrate  # noqa: E402
from vibed.store.postgres import open_database  # noqa: E402
from vibed.store.releases import write_batch  # noqa: E402

LANGS = ("ml", "hi", "ta", "te", "kn", "bn")
PATH = "/api/new-releases?language=ml&limit=25"


def machine() -> str:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor())
    return f"nproc={os.cpu_count()} cpu={model!r} python={platform.python_version()} {platform.platform()}"


def releases(start: int, count: int) -> list[Release]:
    base = dt.date(2020, 1, 1)
    return [Release(source="jiosaavn", external_id=f"b{n}", kind="album" if n % 3 else "song",
                    title=f"Album number {n}", artists=(Artist(f"a{n % 997}", f"Artist {n % 997}"),),
                    language=LANGS[n % len(LANGS)], release_date=base + dt.timedelta(days=n % 2000),
                    year=2020, url=f"https://example.test/{n}", raw={"id": n})
            for n in range(start, start + count)]


async def fill(dsn: str, rows: int) -> None:
    async with open_database(dsn, pool_size=2) as db:
        await migrate(db)
        for start in range(0, rows, 5000):
            await db.run(write_batch, db.pool, releases(start, min(5000, rows - start)), 0)
        await db.execute("ANALYZE releases")


def parse_wrk(out: str) -> tuple[float, float]:
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])
    value, unit = re.search(r"\s99%\s+([\d.]+)(us|ms|s)", out).groups()
    return rps, float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


async def bench(admin: str, args: argparse.Namespace) -> None:
    name = f"bench_{os.getpid()}"
    async with open_database(admin, pool_size=1) as db:
        await db.execute(f'CREATE DATABASE "{name}"')
    dsn = admin.rsplit("/", 1)[0] + f"/{name}" if "?" not in admin else admin.replace("/postgres?", f"/{name}?")
    started = trio.current_time()
    await fill(dsn, args.rows)
    print(f"inserted {args.rows} releases in {trio.current_time() - started:.1f} s")
    stop = _Stop()
    async with trio.open_nursery() as nursery:
        runtime = await nursery.start(partial(serve_daemon, api_config(dsn, api_rate_limit=0, db_pool_size=10),
                                              stop=stop))
        url = f"http://127.0.0.1:{http_port(runtime)}{PATH}"
        async with httpx.AsyncClient() as client:
            etag = (await client.get(url)).headers["ETag"]
        cache = runtime.parts.pop("listing_cache")
        # the baseline in the same run: without the cache every request queries PostgreSQL
        cases = [("plain", [], cache), ("If-None-Match", ["-H", f"If-None-Match: {etag}"], cache),
                 ("no cache, plain", [], None), ("no cache, If-None-Match", ["-H", f"If-None-Match: {etag}"], None),
                 ("plain again", [], cache)]
        for label, extra, use in cases:
            if use is None:
                runtime.parts.pop("listing_cache", None)
            else:
                runtime.parts["listing_cache"] = use
            command = ["wrk", "-t2", "-c50", f"-d{args.duration}s", "--latency", *extra, url]
            print("$", " ".join(command))
            results = []
            for _ in range(args.runs):
                done = await trio.run_process(command, capture_stdout=True)
                results.append(parse_wrk(done.stdout.decode()))
            print(f"{label}: runs (req/s, p99 ms) = {[(round(r), round(p, 1)) for r, p in results]}")
            print(f"{label}: median {statistics.median(r for r, _ in results):.0f} req/s, "
                  f"p99 {statistics.median(p for _, p in results):.1f} ms")
        stop.set()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    configure_logging(debug=False)
    print(machine())
    with tempfile.TemporaryDirectory(prefix="vibed-bench-") as tmp:
        server = None if os.environ.get("DATABASE_URL") else EmbeddedServer(Path(tmp))
        admin = os.environ["DATABASE_URL"] if server is None else server.start_blocking()
        try:
            trio.run(_run, admin, args)
        finally:
            if server is not None:
                server.stop_blocking()


async def _run(admin: str, args: argparse.Namespace) -> None:
    async with trio_asyncio.open_loop():
        await bench(admin, args)


if __name__ == "__main__":
    main()
