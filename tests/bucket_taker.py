"""One process taking tokens from a shared bucket for a while, as a fetcher does.

    python -m tests.bucket_taker DATABASE_URL SERVICE SECONDS

Prints ``ready`` once connected, waits for a line on stdin (so that the processes a test starts
contend at the same time), then for SECONDS takes one token at a time — when refused it sleeps
the ``wait_s`` the bucket names, as ``Fetcher._take_token`` does — and prints one JSON line:
``{"grants": n, "refusals": m, "min_remaining": x, "first_grant_by": t}`` (t: the database clock read
right after the first grant, in epoch seconds).
"""

from __future__ import annotations

import json
import sys
import warnings

import trio
import trio_asyncio

from vibed.store import bucket
from vibed.store.postgres import open_database

warnings.filterwarnings("ignore", category=DeprecationWarning)


async def main(url: str, service: str, seconds: float) -> None:
    async with trio_asyncio.open_loop(), open_database(url, pool_size=1) as db:
        await db.fetchval("SELECT 1")
        print("ready", flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)
        grants = refusals = 0
        lowest = float("inf")
        first = None
        # never cancelled mid-take: a take the server committed must be counted here
        deadline = trio.current_time() + seconds
        while trio.current_time() < deadline:
            grant = await bucket.take(db, service)
            if grant.granted:
                grants += 1
                lowest = min(lowest, grant.remaining)
                if first is None:
                    first = float(await db.fetchval("SELECT extract(epoch FROM clock_timestamp())"))
            else:
                refusals += 1
                await trio.sleep(min(grant.wait_s or 0, max(0, deadline - trio.current_time())))
        print(json.dumps({"grants": grants, "refusals": refusals, "min_remaining": lowest,
                          "first_grant_by": first}), flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], float(sys.argv[3]))
