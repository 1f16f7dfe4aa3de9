"""The token bucket on a real PostgreSQL: exact under contention, refilled by the database clock,
re-read on every take, and untouched by restarts."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import trio

from tests.pipeline_support import LineReader
from vibed.store import bucket
from vibed.store.migrations import migrate
from vibed.store.postgres import open_database

ROOT = Path(__file__).resolve().parents[1]
DAY = 86400.0


async def set_bucket(db, *, tokens: float, max_tokens: float, refill_rate: float, interval: str = "1 day",
                     ago: str = "0 seconds", service: str = "jiosaavn") -> None:
    """The bucket as the operator would set it; ``ago``: how long since the last refill."""
    await db.execute(
        "UPDATE rate_limit_tokens SET tokens=$2, max_tokens=$3, refill_rate=$4, refill_interval=$5::text::interval,"
        " last_refill = now() - $6::text::interval WHERE service_name=$1",
        service, tokens, max_tokens, refill_rate, interval, ago)


async def take_until_refused(db, granted: list[int]) -> None:
    while (await bucket.take(db, "jiosaavn")).granted:
        granted.append(1)


async def test_eight_concurrent_takers_share_exactly_the_bucket(db_url):
    async with open_database(db_url, pool_size=8) as db:
        await set_bucket(db, tokens=100, max_tokens=100, refill_rate=1)  # a whole token takes a day
        granted: list[int] = []
        async with trio.open_nursery() as nursery:
            for _ in range(8):
                nursery.start_soon(take_until_refused, db, granted)
        state = await bucket.peek(db, "jiosaavn")
    assert len(granted) == 100
    assert 0 <= state.tokens < 0.01


async def test_two_processes_share_exactly_the_bucket(db, db_url):
    await set_bucket(db, tokens=100, max_tokens=100, refill_rate=1)
    command = [sys.executable, "-m", "tests.pipeline_taker", db_url, "jiosaavn", "4"]
    procs = [await trio.lowlevel.open_process(command, cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
             for _ in range(2)]
    try:
        readers = [LineReader(p.stdout) for p in procs]
        with trio.fail_after(20):
            assert [await r.readline() for r in readers] == ["ready", "ready"]
            for p in procs:  # both are connected: let them take at once
                await p.stdin.send_all(b"go\n")
            counts = [int(await r.readline() or -1) for r in readers]
            assert [await p.wait() for p in procs] == [0, 0]
    finally:
        for p in procs:
            if p.returncode is None:
                p.kill()
    assert sum(counts) == 100, counts


async def clock(db) -> float:
    return float(await db.fetchval("SELECT extract(epoch FROM clock_timestamp())"))


async def test_refill_is_continuous_by_the_database_clock_and_capped(db):
    rate = 20.0  # tokens per second: a full bucket of 10 in half a second
    await set_bucket(db, tokens=0, max_tokens=10, refill_rate=rate, interval="1 second")
    since = float(await db.fetchval(
        "SELECT extract(epoch FROM last_refill) FROM rate_limit_tokens WHERE service_name='jiosaavn'"))

    with trio.fail_after(10):  # a quarter second by the database clock; the ceiling is for a loaded machine
        while not (grant := await bucket.take(db, "jiosaavn", 5)).granted:
            await trio.sleep(grant.wait_s)

    await trio.sleep(0.1)
    before = await clock(db)
    level = (await bucket.peek(db, "jiosaavn")).tokens
    after = await clock(db)
    # what refilled since the take is read by the database clock, to the millisecond, fractions included
    last = float(await db.fetchval(
        "SELECT extract(epoch FROM last_refill) FROM rate_limit_tokens WHERE service_name='jiosaavn'"))
    assert last > since
    low, high = rate * (before - last), rate * (after - last)
    assert low - 1e-6 <= level <= high + 1e-6 + 5 and level % 1 != 0

    await trio.sleep(0.6)  # long enough to overfill
    assert (await bucket.peek(db, "jiosaavn")).tokens == 10


async def test_a_refused_take_names_the_wait_until_enough_tokens_by_the_database_clock(db):
    rate = 20.0 / 3600  # per second: 5 tokens take a quarter of an hour, so this take is refused
    await set_bucket(db, tokens=0, max_tokens=10, refill_rate=20, interval="1 hour")
    refused = await bucket.take(db, "jiosaavn", 5)
    assert not refused.granted
    assert 0 <= refused.remaining < 0.01
    # (the level and the wait are read by two clock_timestamp() calls, microseconds apart)
    assert refused.wait_s == pytest.approx((5 - refused.remaining) / rate, abs=1e-3)


async def test_a_clock_behind_the_last_refill_neither_drains_nor_refills_the_bucket(db):
    # the last take was stamped an hour "ahead" (a clock stepped back since): elapsed time counts as
    # zero, not as an hour to take back, and the stamp is kept, so that hour is not paid twice later
    await set_bucket(db, tokens=10, max_tokens=100, refill_rate=1, interval="1 second", ago="-1 hour")
    first = await bucket.take(db, "jiosaavn")
    second = await bucket.take(db, "jiosaavn")
    assert (first.granted, first.remaining, second.granted, second.remaining) == (True, 9.0, True, 8.0)
    assert await db.fetchval("SELECT last_refill > clock_timestamp() + interval '59 minutes'"
                             " FROM rate_limit_tokens WHERE service_name = 'jiosaavn'")


async def test_refill_between_two_takes_is_credited_exactly(db):
    await set_bucket(db, tokens=0, max_tokens=1000, refill_rate=1000, ago="6 hours")  # 250 accrued
    grant = await bucket.take(db, "jiosaavn")
    assert grant.granted and grant.remaining == pytest.approx(249, abs=0.05)


async def test_an_operator_update_is_honoured_by_the_next_take_without_restart(db):
    await set_bucket(db, tokens=0, max_tokens=1000, refill_rate=1000)
    refused = await bucket.take(db, "jiosaavn")
    assert not refused.granted and refused.wait_s == pytest.approx(DAY / 1000, rel=0.01)

    await db.execute("UPDATE rate_limit_tokens SET max_tokens=2000, refill_rate=2000 WHERE service_name='jiosaavn'")
    refused = await bucket.take(db, "jiosaavn")
    assert not refused.granted and refused.wait_s == pytest.approx(DAY / 2000, rel=0.01)

    # a full bucket of the old size grows to the new one
    await set_bucket(db, tokens=1000, max_tokens=1000, refill_rate=1000, ago="6 hours")
    assert (await bucket.take(db, "jiosaavn")).remaining == pytest.approx(999)
    await db.execute("UPDATE rate_limit_tokens SET max_tokens=2000, refill_rate=2000, last_refill = now() - "
                     "interval '6 hours' WHERE service_name='jiosaavn'")
    assert (await bucket.take(db, "jiosaavn")).remaining == pytest.approx(999 + 500 - 1, abs=0.05)
    state = await bucket.peek(db, "jiosaavn")
    assert (state.max_tokens, state.refill_rate) == (2000, 2000)


async def test_a_restart_does_not_refill(db_url):
    async with open_database(db_url, pool_size=2) as db:
        await set_bucket(db, tokens=100, max_tokens=100, refill_rate=1)
        for _ in range(10):
            assert (await bucket.take(db, "jiosaavn")).granted
    # a new process: a new pool, migrations run again at start
    async with open_database(db_url, pool_size=2) as db:
        assert await migrate(db) == []
        state = await bucket.peek(db, "jiosaavn")
    assert state.tokens == pytest.approx(90, abs=0.01)


async def test_an_unknown_service_is_named(db):
    with pytest.raises(bucket.UnknownService, match="'nosuch'"):
        await bucket.take(db, "nosuch")
    assert await bucket.peek(db, "nosuch") is None
