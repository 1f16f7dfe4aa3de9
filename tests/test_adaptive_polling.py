"""Adaptive polling on real PostgreSQL and the simulator (real time, no autojump clock).

What is learned lives in the database, so a restarted daemon plans the same; polls are claimed
in the database, so two daemons on one database never poll a language twice in a minute.
The daemons run on a trace clock (``VIBED_TRACE_CLOCK``) sped up 120×: a trace minute is half a second.
"""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest
import trio

from tests.daemon_inproc import running_daemon
from tests.pipeline_support import daemon_config, quiet_sim_settings
from vibed.pipeline import fetch_state, history, learning
from vibed.pipeline.adaptive import AdaptiveScheduler
from vibed.store.postgres import Database, open_database
from vibed.vocab.clock import Clock

SPEED = 240.0

# every adaptive claim as the database granted it (fetch_state.last_poll moved), for the test to read
CLAIM_LOG = """
CREATE TABLE test_poll_claims (scope text, at timestamptz);
CREATE FUNCTION test_log_claim() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.last_slot LIKE 'poll:%' AND (TG_OP = 'INSERT' OR NEW.last_poll IS DISTINCT FROM OLD.last_poll) THEN
    INSERT INTO test_poll_claims VALUES (NEW.scope, NEW.last_poll);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER test_log_claim AFTER INSERT OR UPDATE ON fetch_state FOR EACH ROW EXECUTE FUNCTION test_log_claim();
"""


@pytest.fixture
def sim_settings():  # type: ignore[no-untyped-def]
    return quiet_sim_settings()


async def seed_history(db: Database, now: dt.datetime) -> None:
    """A week of ml: a backfill, then 8 releases every night at 00:10 UTC and one at 15:00; ta watched as
    long (its backfill), with nothing new since."""
    rows = [(f"backfill-{i}", now - dt.timedelta(days=8)) for i in range(40)]
    for day in range(1, 8):
        night = (now - dt.timedelta(days=day)).replace(hour=0, minute=10, second=0, microsecond=0)
        rows += [(f"n{day}-{i}", night) for i in range(8)]
        rows.append((f"a{day}", night.replace(hour=15)))
    await db.execute(
        "INSERT INTO releases (source, external_id, kind, title, language, first_seen)"
        " SELECT 'jiosaavn', id, 'album', id, 'ml', at FROM unnest($1::text[], $2::timestamptz[]) AS r(id, at)",
        [r[0] for r in rows], [r[1] for r in rows])
    await db.execute("INSERT INTO releases (source, external_id, kind, title, language, first_seen)"
                     " SELECT 'jiosaavn', 'ta-backfill-' || i, 'album', 'old', 'ta', $1 FROM generate_series(1, 30) i",
                     now - dt.timedelta(days=8))


async def plan_of(db_url: str, config: object) -> dict[tuple[str, str], tuple[float, float]]:
    """A fresh scheduler on its own connection: each scope's (interval now, polls planned for the day)."""
    async with open_database(db_url, pool_size=2) as db:
        from vibed.wiring import open_sources

        async with httpx.AsyncClient() as client:
            scheduler = AdaptiveScheduler(config, open_sources(config, client), db=db)
            await scheduler.replan()
    plan = scheduler.plans["jiosaavn"]
    return {key: (round(t.interval_s, 6), round(sum(plan.scopes["/".join(key)].polls_per_hour), 6))
            for key, t in scheduler.timings.items()}


async def test_learned_rates_come_from_the_database_and_survive_a_restart(db: Database, db_url: str,
                                                                         sim_url: str) -> None:
    now = dt.datetime.now(dt.UTC)
    await seed_history(db, now)
    found = await history.batches(db, "jiosaavn", ["ml", "ta"], now - dt.timedelta(days=28))
    tonight = now.replace(hour=0, minute=5, second=0, microsecond=0) + dt.timedelta(days=1)
    rates = learning.forecasts(found, ["ml", "ta"], tonight)
    assert rates["ml"][0] == pytest.approx(8, rel=0.25)  # midnight: the nightly drop, learned
    assert rates["ml"][5] == pytest.approx(0, abs=0.05)
    assert rates["ta"] == [0.0] * 24

    config = daemon_config(db_url, sim_url, polling="adaptive", schedule="*/10 * * * *")
    before = await plan_of(db_url, config)  # one daemon …
    after = await plan_of(db_url, config)  # … and the next one after a restart: the same plan
    assert before.keys() == after.keys()
    for key, (interval, polls) in before.items():  # the same, but for the decay of the seconds between
        assert after[key] == (pytest.approx(interval, rel=1e-3), pytest.approx(polls, rel=1e-3))
    assert before[("jiosaavn", "ml")][1] > before[("jiosaavn", "ta")][1]  # polls a day: spent where they come


async def test_a_poll_is_claimed_once_within_its_gap(db: Database) -> None:
    results: list[object] = []

    async def claim() -> None:
        results.append(await fetch_state.claim_poll(db, "jiosaavn", "ml", "poll:x", 60))

    async with trio.open_nursery() as nursery:
        for _ in range(4):
            nursery.start_soon(claim)
    assert sum(r is not None for r in results) == 1
    assert await fetch_state.claim_poll(db, "jiosaavn", "ml", "poll:y", 60) is None
    assert await fetch_state.claim_poll(db, "jiosaavn", "ml", "poll:z", 0.001) is not None


async def test_two_daemons_never_poll_one_language_in_the_same_minute(db: Database, db_url: str, sim_url: str,
                                                                      sim) -> None:  # type: ignore[no-untyped-def]
    # the bucket refills a day's 1000 tokens in a trace day
    await db.execute("UPDATE rate_limit_tokens SET refill_interval = make_interval(secs => $1)"
                     " WHERE service_name = 'jiosaavn'", 86400 / SPEED)
    await db.execute(CLAIM_LOG)
    wall = time.time()
    clock = f"{wall},{wall},{SPEED:g}"
    config = daemon_config(db_url, sim_url, polling="adaptive", schedule="*/10 * * * *", trace_clock=clock)
    await sim.reset_stats()
    async with running_daemon(config), running_daemon(config):
        for _ in range(8):  # 32 trace minutes, a drop now and then to pull ml's polls in
            await sim.release(language="ml", count=4)
            await trio.sleep(60 * 4 / SPEED)  # four trace minutes pass: the test's own timeline
    log = (await sim.stats())["log"]
    claims = await db.fetch("SELECT scope, extract(epoch FROM at)::float8 AS at FROM test_poll_claims ORDER BY at")
    for language in ("ml", "hi", "ta"):
        # the gaps between claims, as the database granted them (an upstream request follows its claim
        # after a token and a connection, so the simulator's arrival times jitter by load × SPEED)
        granted = [r["at"] for r in claims if r["scope"] == language]
        gaps = [(b - a) * SPEED for a, b in zip(granted, granted[1:], strict=False)]
        # at least every cron tick (plus half a wall second of scheduling under load) …
        assert len(granted) >= 3 and max(gaps) <= 600 + 0.5 * SPEED, (language, gaps)
        assert min(gaps) >= 60 - 1e-6, (language, gaps)  # … by one daemon at a time, a minute apart at least
        # … and no upstream poll without a claim
        firsts = [t for t, lang, page in log if lang == language and page == 1]
        assert 0 < len(firsts) <= len(granted), (language, len(firsts), len(granted))
    assert Clock.parse(clock).speed == SPEED


async def test_health_and_metrics_show_the_plan(db_url: str, sim_url: str) -> None:
    config = daemon_config(db_url, sim_url, polling="adaptive", schedule="*/10 * * * *")
    async with running_daemon(config) as daemon:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}") as client:
            with trio.fail_after(10):
                while not (health := (await client.get("/api/health")).json())["polling"]["scopes"]:
                    await trio.sleep(0.05)  # until the first plan is made
            metrics = (await client.get("/metrics")).text
    polling = health["polling"]
    assert polling["mode"] == "adaptive"
    assert set(polling["scopes"]["jiosaavn"]) == {"ml", "hi", "ta"}
    ml = polling["scopes"]["jiosaavn"]["ml"]
    # nothing learned yet: the uniform prior of a new install (vibed/pipeline/learning.py), the same for each
    assert 0 < ml["interval_s"] <= 600 and ml["next_poll"].endswith("Z")
    assert ml["learned_rate_per_hour"] == learning.DEFAULT_PRIOR
    budget = polling["budget"]["jiosaavn"]
    assert budget["spendable_per_day"] == 900 and 0 < budget["forecast_per_day"] <= 900
    assert 'vibed_poll_next_seconds{language="ml",source="jiosaavn"}' in metrics
    assert f'vibed_learned_release_rate{{language="ta",source="jiosaavn"}} {learning.DEFAULT_PRIOR}' in metrics
    assert 'vibed_budget_forecast_requests{service="jiosaavn"}' in metrics


async def test_cron_mode_says_so_in_health(db_url: str, sim_url: str) -> None:
    async with running_daemon(daemon_config(db_url, sim_url, polling="cron")) as daemon:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{daemon.port}") as client:
            health = (await client.get("/api/health")).json()
    assert health["polling"]["mode"] == "cron" and health["polling"]["next_round"].startswith("2")
