"""Upstream requests per day at the default schedule, measured on real rounds against the simulator.

    python tests/benchmarks/quota.py [--rounds 5]

A daemon (in-process, embedded PostgreSQL in a temporary directory) watches 3 languages; after a
first, cold round, ``--rounds`` rounds run against a quiet simulator (no new releases) and the
simulator counts the requests of each.  The default schedule ``*/10 * * * *`` makes 144 rounds a
day: requests/day = median requests per round x 144, against the guide's budget of 1000.

For comparison the same is measured with the simulator releasing 10 new items per language per
round (a busy day), since each such round must also read the page after the new items.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
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
from tests.daemon_inproc import running_daemon  # noqa: E402
from tests.pipeline_support import daemon_config, quiet_sim_settings  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.simulator import serve_simulator  # noqa: E402
from vibed.store.postgres import open_database  # noqa: E402

ROUNDS_PER_DAY = 24 * 60 // 10  # */10 * * * *
BUDGET = 1000
LANGUAGES = ("ml", "hi", "ta")


async def per_round(admin_dsn: str, name: str, rounds: int, new_per_round: int) -> list[int]:
    """Requests the simulator received in each of ``rounds`` rounds after a cold one."""
    async with trio_asyncio.open_loop():
        async with open_database(admin_dsn, pool_size=1) as admin:
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
            await admin.execute(f'CREATE DATABASE "{name}"')
    db_url = admin_dsn.replace("/postgres?", f"/{name}?", 1)
    counts = []
    async with trio.open_nursery() as nursery, httpx.AsyncClient() as client:
        sim_url = await nursery.start(partial(serve_simulator, settings=quiet_sim_settings()))
        config = daemon_config(db_url, sim_url, languages=",".join(LANGUAGES))
        async with running_daemon(config) as daemon:
            await daemon.round()  # cold: learns the catalogue
            for _ in range(rounds):
                if new_per_round:
                    for lang in LANGUAGES:
                        await client.post(f"{sim_url}/_sim/release", json={"language": lang, "count": new_per_round})
                await client.post(f"{sim_url}/_sim/stats/reset")
                await daemon.round()
                counts.append((await client.get(f"{sim_url}/_sim/stats")).json()["total"])
        nursery.cancel_scope.cancel()
    return counts


def report(label: str, counts: list[int]) -> None:
    median = statistics.median(counts)
    day = median * ROUNDS_PER_DAY
    print(f"{label}: requests per round {counts} -> median {median:g} x {ROUNDS_PER_DAY} rounds/day "
          f"= {day:g} requests/day ({day / BUDGET:.0%} of the {BUDGET}/day budget)")


async def main(admin_dsn: str, rounds: int) -> None:
    quiet = await per_round(admin_dsn, "quota_quiet", rounds, 0)
    busy = await per_round(admin_dsn, "quota_busy", rounds, 10)
    print(f"3 languages ({', '.join(LANGUAGES)}), schedule */10 * * * *, page size 50, page cap 3")
    report("quiet steady state", quiet)
    print(f"  target: {len(LANGUAGES) * ROUNDS_PER_DAY} (one request per language per round)"
          f"  {'ok' if statistics.median(quiet) * ROUNDS_PER_DAY <= len(LANGUAGES) * ROUNDS_PER_DAY else 'MISSED'}")
    report("busy (10 new per language per round)", busy)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    configure_logging(stream=open(os.devnull, "w"))  # noqa: SIM115 - the daemon's log lines are not the figures
    with embedded_postgres("vibed-bench-pg-") as (dsn, _):
        trio.run(main, dsn, args.rounds)
