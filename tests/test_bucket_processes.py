"""One bucket, several OS processes, a real refill: each process gets its share, and together they
get exactly what the database clock allows — the capacity plus the refill, not a token more or less.

Each process (tests/bucket_taker.py) has its own interpreter, Trio loop and asyncpg pool, and takes
through ``vibed.store.bucket.take`` for a fixed window, sleeping the named wait when refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import trio

from tests.pipeline_support import LineReader

ROOT = Path(__file__).resolve().parents[1]
PROCESSES = 3
CAPACITY = 20.0
RATE = 50.0  # tokens per second: over the window the refill is several times the capacity
WINDOW = 2.0  # seconds each process takes for


async def db_clock(db) -> float:
    return float(await db.fetchval("SELECT extract(epoch FROM clock_timestamp())"))


async def test_three_processes_each_get_a_share_and_together_exactly_capacity_plus_refill(db, db_url):
    command = [sys.executable, "-m", "tests.bucket_taker", db_url, "jiosaavn", str(WINDOW)]
    procs = [await trio.lowlevel.open_process(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(PROCESSES)]
    try:
        readers = [LineReader(p.stdout) for p in procs]
        with trio.fail_after(30):
            assert [await r.readline() for r in readers] == ["ready"] * PROCESSES
            # a full bucket from now on, by the database clock
            start = float(await db.fetchval(
                "UPDATE rate_limit_tokens SET tokens = $1, max_tokens = $1, refill_rate = $2,"
                " refill_interval = interval '1 second', last_refill = clock_timestamp()"
                " WHERE service_name = 'jiosaavn' RETURNING extract(epoch FROM last_refill)", CAPACITY, RATE))
            for p in procs:
                await p.stdin.send_all(b"go\n")
            results = [json.loads(await r.readline() or "null") for r in readers]
            assert [await p.wait() for p in procs] == [0] * PROCESSES
            end = await db_clock(db)
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
    row = await db.fetchrow("SELECT tokens, extract(epoch FROM last_refill) AS last FROM rate_limit_tokens"
                            " WHERE service_name = 'jiosaavn'")
    grants = [r["grants"] for r in results]
    total = sum(grants)

    # never more than the database clock allows, from the moment the bucket was set to the end
    assert total <= CAPACITY + RATE * (end - start) + 1e-6, (grants, end - start)
    # and every token refilled up to the last take was granted or is still in the bucket: the refill
    # is credited once (never lost to the clamp, never counted twice by racing takers).  Only before
    # the first take may some be lost, as designed: a full bucket does not grow.
    credited = RATE * (float(row["last"]) - start)
    full_for = min(r["first_grant_by"] for r in results) - start
    accounted = total + float(row["tokens"])
    assert CAPACITY + credited - RATE * full_for - 1e-6 <= accounted <= CAPACITY + credited + 1e-6, \
        (grants, accounted, CAPACITY + credited, full_for)
    assert credited >= RATE * WINDOW * 0.5  # the refill really was used, well past the capacity
    assert min(r["min_remaining"] for r in results) >= 0  # no grant ever took the bucket below zero
    # every process got a fair part (an even share is a third; none below a sixth)
    assert min(grants) >= total / (2 * PROCESSES), grants
