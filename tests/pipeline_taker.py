"""Take tokens from a bucket until refused, then print how many were granted.

    python -m tests.pipeline_taker DATABASE_URL SERVICE TAKERS

Prints ``ready`` once connected and waits for a line on stdin before taking, so that the
processes a test starts contend for the bucket at the same time.
"""

from __future__ import annotations

import sys
import warnings

import trio
import trio_asyncio

from vibed.store import bucket
from vibed.store.postgres import open_database

warnings.filterwarnings("ignore", category=DeprecationWarning)


async def main(url: str, service: str, takers: int) -> None:
    async with trio_asyncio.open_loop(), open_database(url, pool_size=takers) as db:
        await db.fetchval("SELECT 1")
        print("ready", flush=True)
        await trio.to_thread.run_sync(sys.stdin.readline)
        granted = 0

        async def taker() -> None:
            nonlocal granted
            while (await bucket.take(db, service)).granted:
                granted += 1

        async with trio.open_nursery() as nursery:
            for _ in range(takers):
                nursery.start_soon(taker)
        print(granted, flush=True)


if __name__ == "__main__":
    trio.run(main, sys.argv[1], sys.argv[2], int(sys.argv[3]))
