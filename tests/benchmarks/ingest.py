"""Ingest throughput of the writer's dedup upsert, next to the old guide's per-row pattern and raw COPY.

    python tests/benchmarks/ingest.py [--releases 3000] [--runs 5] [--batch 150]

On the embedded PostgreSQL (started in a temporary directory), with the migrated schema, the same
rows for every method in the same run.  Rows are realistic: simulator items normalised by the
JioSaavn source code (with their raw JSON), all first seen and released today, so every
``write_batch`` also writes one ``events`` row per release.

- write_batch: ``vibed.store.releases.write_batch`` in batches of ``--batch`` (a 3-page run is 150);
- per-row:     the old guide's pattern, one ``SELECT`` and one ``INSERT`` per song (autocommit);
- raw COPY:    ``COPY`` into a table with the same columns and no index, constraint or event.

Each figure is the median of ``--runs`` runs over emptied tables; timings include turning the
``Release`` objects into parameters (JSON encoding included) for every method.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")

import asyncpg  # noqa: E402

from tests.benchmarks.bench_daemon import embedded_postgres, on_database  # noqa: E402
from vibed.simulator import jiosaavn_render  # noqa: E402
from vibed.simulator.generate import make_release  # noqa: E402
from vibed.sources import jiosaavn_items  # noqa: E402
from vibed.store.migrations import _apply as apply_migrations  # noqa: E402
from vibed.store.migrations import load_migrations  # noqa: E402
from vibed.store.reader import init_connection as _init_connection  # noqa: E402
from vibed.store.releases import write_batch  # noqa: E402
from vibed.vocab.languages import LANGUAGES  # noqa: E402
from vibed.vocab.messages import Release  # noqa: E402

COPY_CONN: asyncpg.Connection  # a plain connection (set by bench): binary COPY of jsonb takes JSON text
COLUMNS = ("source", "external_id", "kind", "title", "artists", "artist_names", "album", "language",
           "release_date", "year", "image", "url", "play_count", "explicit", "raw")


def make_releases(count: int) -> list[Release]:
    """``count`` distinct releases as the source hands them over (playlists and strays skipped)."""
    today = dt.date.today()
    out: list[Release] = []
    index = 0
    langs = ["ml", "hi", "ta"]
    while len(out) < count:
        scope = langs[index % 3]
        rel = make_release(11, scope, index, released=today)
        index += 1
        item = jiosaavn_render.item(rel)
        release = jiosaavn_items.release(item, language_code=scope, language_name=LANGUAGES[scope])
        if release is not None:
            out.append(release)
    return out


def row(r: Release) -> tuple:
    return (r.source, r.external_id, r.kind, r.title,
            json.dumps([{"id": a.id, "name": a.name} for a in r.artists], ensure_ascii=False),
            ", ".join(a.name for a in r.artists), r.album, r.language, r.release_date, r.year,
            r.image, r.url, r.play_count, r.explicit, json.dumps(dict(r.raw), ensure_ascii=False))


async def by_write_batch(pool: asyncpg.Pool, releases: Sequence[Release], batch: int) -> None:
    for start in range(0, len(releases), batch):
        await write_batch(pool, releases[start:start + batch], 7)


_SELECT = "SELECT id FROM releases WHERE source = $1 AND external_id = $2"
_INSERT = (f"INSERT INTO releases ({', '.join(COLUMNS)}) VALUES "
           "($1, $2, $3, $4, $5::text::jsonb, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::text::jsonb)")


async def by_row(pool: asyncpg.Pool, releases: Sequence[Release], batch: int) -> None:
    async with pool.acquire() as conn:
        for r in releases:
            if await conn.fetchval(_SELECT, r.source, r.external_id) is None:
                await conn.execute(_INSERT, *row(r))


async def by_copy(pool: asyncpg.Pool, releases: Sequence[Release], batch: int) -> None:
    await COPY_CONN.copy_records_to_table("ingest_raw", records=[row(r) for r in releases], columns=COLUMNS)


async def empty(pool: asyncpg.Pool) -> None:
    await pool.execute("TRUNCATE events, releases, ingest_raw RESTART IDENTITY CASCADE")  # the outboxes refer to events
    await pool.execute("VACUUM ANALYZE releases")
    await pool.execute("VACUUM ANALYZE events")


async def measure(pool: asyncpg.Pool, method: Callable[..., Awaitable[None]], releases: Sequence[Release],
                  batch: int, runs: int) -> float:
    rates = []
    for _ in range(runs):
        await empty(pool)
        started = time.perf_counter()
        await method(pool, releases, batch)
        rates.append(len(releases) / (time.perf_counter() - started))
    return statistics.median(rates)


async def bench(dsn: str, args: argparse.Namespace) -> None:
    admin = await asyncpg.connect(dsn)
    await admin.execute("DROP DATABASE IF EXISTS ingest_bench")
    await admin.execute("CREATE DATABASE ingest_bench")
    await admin.close()
    bench_dsn = on_database(dsn, "ingest_bench")
    pool = await asyncpg.create_pool(bench_dsn, min_size=2, max_size=2, init=_init_connection)
    global COPY_CONN
    COPY_CONN = await asyncpg.connect(bench_dsn)
    await apply_migrations(pool, load_migrations())  # recorded, as the daemon's own start would
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE ingest_raw (LIKE releases INCLUDING DEFAULTS)")
        await conn.execute("ALTER TABLE ingest_raw ALTER COLUMN id DROP NOT NULL")

    releases = make_releases(args.releases)
    await measure(pool, by_write_batch, releases[:300], args.batch, 1)  # warm caches and statements
    results = {}
    for name, method in (("write_batch", by_write_batch), ("per-row SELECT+INSERT", by_row), ("raw COPY", by_copy)):
        results[name] = await measure(pool, method, releases, args.batch, args.runs)
        print(f"  ... {name}: {results[name]:,.0f}/s", file=sys.stderr)
    small = await measure(pool, by_write_batch, releases, 50, args.runs)
    commits = []
    for _ in range(50):  # what one autocommitted statement costs here: the per-row pattern's floor
        started = time.perf_counter()
        await pool.execute("INSERT INTO ingest_raw (source, external_id, kind, title) VALUES ('x', 'y', 'album', 't')")
        commits.append(time.perf_counter() - started)
    await COPY_CONN.close()
    await pool.close()

    print(f"{args.releases} releases, median of {args.runs} runs, embedded PostgreSQL, releases/second:")
    print(f"  write_batch (batches of {args.batch}):       {results['write_batch']:>10,.0f}")
    print(f"  write_batch (batches of 50, one page): {small:>10,.0f}")
    print(f"  per-row SELECT + INSERT:               {results['per-row SELECT+INSERT']:>10,.0f}")
    print(f"  raw COPY, unindexed table:             {results['raw COPY']:>10,.0f}")
    print(f"  (one autocommitted INSERT takes {statistics.median(commits) * 1000:.2f} ms here: the per-row"
          " pattern's commit flush per song)")
    vs_row = results["write_batch"] / results["per-row SELECT+INSERT"]
    vs_copy = results["write_batch"] / results["raw COPY"]
    print(f"  write_batch / per-row = {vs_row:.1f}x (target >= 30x)  {'ok' if vs_row >= 30 else 'MISSED'}")
    print(f"  write_batch / raw COPY = {vs_copy:.0%} (target >= 25%)  {'ok' if vs_copy >= 0.25 else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--batch", type=int, default=150)
    args = parser.parse_args()
    with embedded_postgres("vibed-bench-pg-") as (dsn, _):
        asyncio.run(bench(dsn, args))


if __name__ == "__main__":
    main()
