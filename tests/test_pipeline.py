"""The fetch pipeline end to end: a daemon in-process, the simulator over HTTP, a real PostgreSQL.

Each test first runs a "cold" round, so the database knows the simulator's catalogue and later
rounds are the steady state the daemon lives in.
"""

from __future__ import annotations

import datetime as dt
import math
from functools import partial

import httpx
import pytest

from tests.daemon_inproc import running_daemon
from tests.pipeline_support import (
    LANGUAGES,
    captured_logs,
    daemon_config,
    events_named,
    quiet_sim_settings,
)
from vibed.pipeline.scheduler import Scheduler
from vibed.simulator import SimSettings
from vibed.sources import JioSaavnSource
from vibed.store import bucket

PAGE_SIZE = 50


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


async def jiosaavn_requests(sim) -> dict[str, int]:
    return (await sim.stats())["jiosaavn"]


async def backoff_left(db, language: str) -> float:
    return float(await db.fetchval(
        "SELECT extract(epoch FROM backoff_until - now()) FROM fetch_state WHERE source='jiosaavn' AND scope=$1",
        language))


async def pass_backoff(db, language: str) -> None:
    """The back-off has run out (as time would make it), without waiting for it."""
    await db.execute("UPDATE fetch_state SET backoff_until = now() - interval '1 second'"
                     " WHERE source='jiosaavn' AND scope=$1", language)


async def test_a_quiet_round_spends_exactly_one_request_and_one_token_per_language(db, db_url, sim_url, sim):
    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:
        await daemon.round()
        await sim.reset_stats()
        before = await bucket.peek(db, "jiosaavn")
        progress = await daemon.round()
        after = await bucket.peek(db, "jiosaavn")

    assert await jiosaavn_requests(sim) == {lang: 1 for lang in LANGUAGES}
    assert (progress.requests, progress.first_seen, progress.events, progress.errors) == (3, 0, 0, 0)
    # 1000 per day refills ~0.0116 per second: the round took far less than a token's worth
    assert before.tokens - after.tokens == pytest.approx(3, abs=0.05)


async def test_page_1_reaching_known_items_is_the_last_page_paid_for(db, db_url, sim_url, sim):
    async with running_daemon(daemon_config(db_url, sim_url, page_cap=10)) as daemon:
        await daemon.round()
        await sim.reset_stats()
        added = await sim.release(language="ml", count=12)
        progress = await daemon.round(("ml",))
    assert await jiosaavn_requests(sim) == {"ml": 1}  # page 1: 12 new, the rest known; no page 2
    assert progress.first_seen == sum(1 for r in added if r["kind"] != "playlist" and r["language"] == "ml")


async def test_a_stray_known_item_or_two_is_not_yet_the_boundary(db, db_url, sim_url, sim):
    async with running_daemon(daemon_config(db_url, sim_url, page_cap=10)) as daemon:
        await daemon.round()
        await sim.reset_stats()
        await sim.release(language="ml", count=PAGE_SIZE - 1)  # page 1: one old item among new ones
        await daemon.round(("ml",))
    assert await jiosaavn_requests(sim) == {"ml": 2}


async def served_order(sim_url: str, language: str, pages: int) -> list[str]:
    """External ids as the daemon's source receives them: page 1 first, upstream order inside a page."""
    async with httpx.AsyncClient() as client:
        source = JioSaavnSource(client, sim_url, page_size=PAGE_SIZE)
        order = []
        for number in range(1, pages + 1):
            page = await source.fetch_page(language, number)
            order.extend(r.external_id for r in page.releases)
    return order


async def test_a_burst_is_stored_whole_its_events_newest_last_and_paging_stops_after_it(db, db_url, sim_url, sim):
    burst = 120
    async with running_daemon(daemon_config(db_url, sim_url, page_cap=10)) as daemon:
        await daemon.round()
        first_event = await db.fetchval("SELECT coalesce(max(id), 0) + 1 FROM events")
        await sim.reset_stats()
        added = await sim.release(language="ml", count=burst)
        progress = await daemon.round()

    pages_with_new = math.ceil(burst / PAGE_SIZE)
    # the last page with new items also shows known ones: the boundary, so no page after it is paid for
    assert await jiosaavn_requests(sim) == {"ml": pages_with_new, "hi": 1, "ta": 1}
    assert progress.requests == pages_with_new + 2

    # what a faithful client keeps: no playlists, no items in another language
    wanted = {r["id"] for r in added if r["kind"] != "playlist" and r["language"] == "ml"}
    stored = {r["external_id"] for r in await db.fetch(
        "SELECT external_id FROM releases WHERE first_seen >= (SELECT min(created_at) FROM events WHERE id >= $1)",
        first_event)}
    assert stored == wanted

    events = await db.fetch(
        "SELECT e.id, e.release_id, r.external_id, e.payload->>'external_id' AS payload_id"
        "  FROM events e JOIN releases r ON r.id = e.release_id WHERE e.id >= $1 ORDER BY e.id", first_event)
    assert [e["external_id"] for e in events] == [e["payload_id"] for e in events]
    assert len({e["release_id"] for e in events}) == len(events) == len(wanted)

    # newest last: ids ascend from the oldest to the newest as upstream lists them (page 1 first;
    # within one release date the upstream order is all there is to go by)
    served = [i for i in await served_order(sim_url, "ml", pages_with_new) if i in wanted]
    assert [e["external_id"] for e in events] == list(reversed(served))
    index = {r["id"]: r["index"] for r in added}
    newest_two = sorted(index[i] for i in wanted)[-2:]
    assert index[events[-1]["external_id"]] in newest_two


async def test_429_with_retry_after_means_no_request_to_that_language_until_it_passes(db, db_url, sim_url, sim):
    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:
        await daemon.round()
        await sim.inject("status_429", language="ml", retry_after=600, count=1)
        await sim.reset_stats()
        with captured_logs() as logs:
            limited = await daemon.round()
            assert await jiosaavn_requests(sim) == {"ml": 1, "hi": 1, "ta": 1}
            assert limited.errors == 1
            assert [e["kind"] for e in events_named(logs, "fetch_error", language="ml")] == ["rate_limited"]
            assert 590 < await backoff_left(db, "ml") <= 600

            await daemon.round()  # a second poke: the back-off holds
            assert await jiosaavn_requests(sim) == {"ml": 1, "hi": 2, "ta": 2}
            assert events_named(logs, "fetch_skipped", language="ml", reason="backing_off")

        await pass_backoff(db, "ml")
        retried = await daemon.round()

    assert await jiosaavn_requests(sim) == {"ml": 2, "hi": 3, "ta": 3}
    assert retried.errors == 0
    row = await db.fetchrow("SELECT consecutive_failures, backoff_until FROM fetch_state WHERE scope='ml'")
    assert (row["consecutive_failures"], row["backoff_until"]) == (0, None)


@pytest.mark.parametrize(("kind", "fault", "failure"), [
    ("html", {}, "blocked"),
    ("error_json", {"variant": "status_failure"}, "upstream_error"),
    ("error_json", {"variant": "login_required"}, "blocked"),
    ("error_json", {"variant": "empty_list"}, "upstream_error"),
])
async def test_a_broken_page_backs_off_its_language_only_and_is_retried_later(
        db, db_url, sim_url, sim, kind, fault, failure):
    async with running_daemon(daemon_config(db_url, sim_url)) as daemon:
        await daemon.round()
        await sim.inject(kind, language="hi", count=1, **fault)
        await sim.reset_stats()
        with captured_logs() as logs:
            broken = await daemon.round()
        errors = events_named(logs, "fetch_error")
        assert [(e["language"], e["kind"]) for e in errors] == [("hi", failure)]
        assert broken.errors == 1
        states = {r["scope"]: r for r in await db.fetch("SELECT * FROM fetch_state WHERE source='jiosaavn'")}
        assert states["hi"]["consecutive_failures"] == 1 and states["hi"]["last_error"].startswith(failure)
        assert await backoff_left(db, "hi") > 0
        assert all(states[lang]["consecutive_failures"] == 0 and states[lang]["backoff_until"] is None
                   for lang in ("ml", "ta"))

        await daemon.round()  # backing off: hi is not asked again, the others are
        assert await jiosaavn_requests(sim) == {"ml": 2, "hi": 1, "ta": 2}

        await pass_backoff(db, "hi")
        retried = await daemon.round()

    assert await jiosaavn_requests(sim) == {"ml": 3, "hi": 2, "ta": 3}
    assert retried.errors == 0
    assert await db.fetchval("SELECT consecutive_failures FROM fetch_state WHERE scope='hi'") == 0


async def test_two_daemons_in_one_cron_slot_fetch_each_language_once(db, db_url, sim_url, sim, monkeypatch):
    # the database first learns the catalogue, so the slot's round is a quiet one
    async with running_daemon(daemon_config(db_url, sim_url)) as warm:
        await warm.round()
    await sim.reset_stats()

    # both daemons start with no slot in sight; once both run, their cron clock is moved ahead so that
    # the next */10 slot is `lead` seconds away, and both take the */10 schedule (as a reload does):
    # whenever they wake, they wake for the same slot
    lead = 0.5
    shift = [dt.timedelta(0)]

    def shifted_now() -> dt.datetime:
        return dt.datetime.now(dt.UTC) + shift[0]

    monkeypatch.setattr("vibed.pipeline.service.Scheduler", partial(Scheduler, now=shifted_now))
    every_ten = daemon_config(db_url, sim_url, schedule="*/10 * * * *")
    with captured_logs() as logs:
        async with running_daemon(daemon_config(db_url, sim_url)) as one, running_daemon(daemon_config(
                db_url, sim_url)) as two:
            real = dt.datetime.now(dt.UTC)
            slot = real.replace(second=0, microsecond=0) + dt.timedelta(minutes=10 - real.minute % 10)
            shift[0] = slot - real - dt.timedelta(seconds=lead)
            for daemon in (one, two):
                daemon.runtime.services.pipeline.scheduler.reconfigure(every_ten)
            [first] = await one.rounds.wait_count(1)
            [second] = await two.rounds.wait_count(1)

    assert first.origin == second.origin == "cron"
    assert await jiosaavn_requests(sim) == {lang: 1 for lang in LANGUAGES}
    assert first.requests + second.requests == len(LANGUAGES)
    skipped = events_named(logs, "fetch_skipped")
    assert sorted(e["language"] for e in skipped) == sorted(LANGUAGES)
    assert {e["reason"] for e in skipped} <= {"claimed_elsewhere", "fetched_this_round"}
    claimed = await db.fetch("SELECT DISTINCT last_slot FROM fetch_state WHERE source = 'jiosaavn'")
    [claimed_slot] = [r["last_slot"] for r in claimed]
    assert claimed_slot.startswith(slot.strftime("%Y-%m-%dT%H:%M"))


async def test_a_burst_beyond_the_page_cap_is_caught_up_in_later_rounds_without_a_gap(db, db_url, sim_url, sim):
    burst = 120  # about three pages, with a cap of one page a round
    async with running_daemon(daemon_config(db_url, sim_url, page_cap=1, languages=("ml",))) as daemon:
        await daemon.round()
        added = await sim.release(language="ml", count=burst)
        wanted = {r["id"] for r in added if r["kind"] != "playlist" and r["language"] == "ml"}
        for _ in range(5):
            await daemon.round()
        stored = {r["external_id"] for r in await db.fetch("SELECT external_id FROM releases")}
        resume = await db.fetchval("SELECT resume_pages FROM fetch_state WHERE scope = 'ml'")
    assert wanted <= stored  # without the resume floor, round 2 stops at a known page 1 for good
    assert resume == 0  # caught up: the floor is cleared


async def test_a_failure_after_new_pages_makes_the_next_run_page_past_them(db, db_url, sim_url, sim):
    async with running_daemon(daemon_config(db_url, sim_url, page_cap=5, languages=("ml",))) as daemon:
        await daemon.round()
        added = await sim.release(language="ml", count=120)
        wanted = {r["id"] for r in added if r["kind"] != "playlist" and r["language"] == "ml"}
        # an empty bucket after two pages cuts the run short
        await db.execute("UPDATE rate_limit_tokens SET tokens = 2, refill_rate = 0 WHERE service_name = 'jiosaavn'")
        await daemon.round()
        assert await db.fetchval("SELECT resume_pages FROM fetch_state WHERE scope = 'ml'") == 3
        missing = wanted - {r["external_id"] for r in await db.fetch("SELECT external_id FROM releases")}
        assert missing  # the third page was never fetched
        await db.execute("UPDATE rate_limit_tokens SET tokens = 100 WHERE service_name = 'jiosaavn'")
        await db.execute("UPDATE fetch_state SET backoff_until = NULL")
        await daemon.round()
    stored = {r["external_id"] for r in await db.fetch("SELECT external_id FROM releases")}
    assert wanted <= stored
