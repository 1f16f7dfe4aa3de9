"""Followed artists polled on their own page, end to end: real PostgreSQL, the simulator over HTTP, real daemons.

The daemons run adaptive polling on a trace clock sped up ``SPEED`` times (as tests/test_adaptive_polling.py
does); who is followed comes from real watches (vibed/store/watches.py).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import trio

from tests.daemon_inproc import InProcessDaemon, running_daemon
from tests.pipeline_support import captured_logs, daemon_config, events_named, quiet_sim_settings
from tests.sim_fixtures import SimControl
from tests.test_adaptive_polling import CLAIM_LOG
from vibed.pipeline import learning
from vibed.pipeline.adaptive import AdaptiveScheduler
from vibed.simulator import SimSettings
from vibed.store import watches
from vibed.store.postgres import Database

SPEED = 240.0


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


def adaptive(db_url: str, sim_url: str) -> Any:
    wall = time.time()
    return daemon_config(db_url, sim_url, polling="adaptive", schedule="*/10 * * * *",
                         trace_clock=f"{wall},{wall},{SPEED:g}")


async def day_on_the_trace_clock(db: Database, tokens: float = 1000) -> None:
    """The bucket's day is a trace day (its refill_interval divided by the speed)."""
    await db.execute("UPDATE rate_limit_tokens SET tokens = $2, max_tokens = $2, refill_rate = $2,"
                     " refill_interval = make_interval(secs => $1), last_refill = now()"
                     " WHERE service_name = 'jiosaavn'", 86400 / SPEED, float(tokens))


async def follow(db: Database, sim: SimControl, daemon: InProcessDaemon, names: list[str]) -> dict[str, int]:
    """Each artist releases once in a watched language (so the index knows them), then a watch follows them."""
    for name in names:
        await sim.release(language="ml", artists=[name])
    await daemon.round(("ml",))
    ids = {name: await db.fetchval("SELECT id FROM artists WHERE name = $1", name) for name in names}
    assert all(ids.values()), ids
    await watches.create(db, watches.WatchChange(name="mine", artists=list(ids.values())))
    return ids


async def wait_stored(db: Database, external_id: str, timeout: float = 30) -> Any:
    with trio.fail_after(timeout):
        while (row := await db.fetchrow("SELECT id, language FROM releases WHERE external_id = $1",
                                        external_id)) is None:
            await trio.sleep(0.1)
    return row


async def test_a_followed_artist_s_release_outside_the_watched_languages_is_found(
        db: Database, db_url: str, sim_url: str, sim: SimControl) -> None:
    await day_on_the_trace_clock(db)
    with captured_logs() as logs:
        async with running_daemon(adaptive(db_url, sim_url)) as daemon:
            ids = await follow(db, sim, daemon, ["Nila Das"])
            [made] = await sim.release(language="te", artists=["Nila Das"])  # te is not watched
            row = await wait_stored(db, made["id"])
            listing = (await daemon.client.get("/api/new-releases", params={"artist": ids["Nila Das"]})).json()
    assert row["language"] == "te"
    assert made["id"] in [r["external_id"] for r in listing["data"]]  # the normal writer path: indexed, listed
    upstream_id = made["artists"][0]["id"]
    assert events_named(logs, "fetch_started", language=f"artist:{upstream_id}")


async def test_two_daemons_never_poll_one_artist_in_the_same_slot(db: Database, db_url: str, sim_url: str,
                                                                  sim: SimControl) -> None:
    await day_on_the_trace_clock(db)
    config = adaptive(db_url, sim_url)
    async with running_daemon(config) as first:
        await follow(db, sim, first, ["Nila Das", "Ravi Sharma"])
        await db.execute(CLAIM_LOG)
        await sim.reset_stats()
        async with running_daemon(config):
            for _ in range(6):  # 36 trace minutes, the artists releasing now and then
                await sim.release(language="te", artists=["Nila Das"])
                await sim.release(language="bn", artists=["Ravi Sharma"])
                await trio.sleep(60 * 6 / SPEED)
    claims = await db.fetch("SELECT scope, extract(epoch FROM at)::float8 AS at FROM test_poll_claims"
                            " WHERE scope LIKE 'artist:%' ORDER BY at")
    log = (await sim.stats())["log"]
    for scope in {r["scope"] for r in claims}:
        granted = [r["at"] for r in claims if r["scope"] == scope]
        gaps = [(b - a) * SPEED for a, b in zip(granted, granted[1:], strict=False)]
        assert all(gap >= 60 - 1e-6 for gap in gaps), (scope, gaps)  # one daemon at a time, a minute apart
        firsts = [t for t, s, page in log if s == scope and page == 1]
        assert 0 < len(firsts) <= len(granted), (scope, len(firsts), len(granted))  # never polled unclaimed
    assert len({r["scope"] for r in claims}) == 2


async def test_languages_and_artists_spend_one_bucket(db: Database, db_url: str, sim_url: str,
                                                      sim: SimControl) -> None:
    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:  # cron, far away: only our pokes
        await follow(db, sim, daemon, ["Nila Das", "Ravi Sharma", "Meera Iyer"])
    await db.execute("DELETE FROM fetch_state")  # every scope due at the first cron time: they want ten pages
    await day_on_the_trace_clock(db, tokens=4)
    await db.execute("UPDATE rate_limit_tokens SET refill_rate = 0.001 WHERE service_name = 'jiosaavn'")
    await sim.reset_stats()
    with captured_logs() as logs:
        async with running_daemon(adaptive(db_url, sim_url)):
            await trio.sleep(60 * 20 / SPEED)  # twenty trace minutes: a cron time passes
    stats = await sim.stats()
    asked = [scope for _, scope, _ in stats["log"]]
    assert len(asked) <= 4  # the bucket's four tokens, languages and artists together
    refused = {e["language"] for e in events_named(logs, "fetch_rate_limited")}
    assert len(set(asked) | refused) == 6 and refused  # all six asked the one bucket; it refused some


async def test_an_empty_history_plans_the_uniform_prior(db: Database, db_url: str, sim_url: str) -> None:
    import httpx

    from vibed.wiring import open_sources

    config = adaptive(db_url, sim_url)
    async with httpx.AsyncClient() as client:
        scheduler = AdaptiveScheduler(config, open_sources(config, client), db=db)
        await scheduler.replan()
    plan = scheduler.plans["jiosaavn"]
    assert {t.rate for t in scheduler.timings.values()} == {learning.DEFAULT_PRIOR}
    per_day = {scope: sum(p.polls_per_hour) for scope, p in plan.scopes.items()}
    assert len(set(per_day.values())) == 1 and sum(per_day.values()) == pytest.approx(plan.spendable)


async def test_the_most_followed_then_the_most_active_come_first_and_spotify_only_artists_are_left_out(
        db: Database) -> None:
    from vibed.follow import followed

    await db.execute("""INSERT INTO releases (source, external_id, kind, title, language, artists) VALUES
        ('jiosaavn', 'b1', 'album', 'Three', 'ta', '[{"id": "202", "name": "Quiet One"}]'),
        ('jiosaavn', 'a1', 'album', 'One', 'ml', '[{"id": "101", "name": "Busy One"}]'),
        ('jiosaavn', 'a2', 'album', 'Two', 'ml', '[{"id": "101", "name": "Busy One"}]'),
        ('jiosaavn', 'c1', 'album', 'Four', 'hi', '[{"id": "303", "name": "Loved One"}]'),
        ('spotify', 'd1', 'album', 'Five', NULL, '[{"id": "sp4", "name": "Elsewhere"}]')""")
    await db.execute("SELECT vibed_index_artists(array_agg(id)) FROM releases")
    ids = {r["name"]: r["id"] for r in await db.fetch("SELECT id, name FROM artists")}
    everyone = [ids["Quiet One"], ids["Busy One"], ids["Loved One"], ids["Elsewhere"]]
    await watches.create(db, watches.WatchChange(name="a", artists=everyone))
    await watches.create(db, watches.WatchChange(name="b", artists=[ids["Loved One"]]))
    found = await followed.poll_list(db, limit=10, window_s=86400)
    assert [a.name for a in found] == ["Loved One", "Busy One", "Quiet One"]
    assert [a.scope for a in found] == ["artist:303", "artist:101", "artist:202"]
    assert [a.name for a in await followed.poll_list(db, limit=2, window_s=86400)] == ["Loved One", "Busy One"]
