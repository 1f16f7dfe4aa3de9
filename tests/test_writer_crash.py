"""The writer's database-error path, forced: its connection dies inside its transaction.

The test holds the advisory lock every writer transaction takes first (vibed/store/releases.py),
so a round's first batch waits inside its transaction; PostgreSQL shows that backend waiting,
and the test terminates it.  The batch fails as a whole, the fetcher hears so and backs off,
and the round after the back-off stores and announces each release exactly once.
"""

from __future__ import annotations

import inspect

import pytest
import trio

from tests.daemon_inproc import running_daemon
from tests.pipeline_support import (
    LANGUAGES,
    captured_logs,
    daemon_config,
    events_named,
    quiet_sim_settings,
)
from vibed.simulator import SimSettings

WRITER_LOCK = 7669626564  # vibed/store/releases.py

_WAITING = """
SELECT pid FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
   AND wait_event_type = 'Lock' AND wait_event = 'advisory' AND xact_start IS NOT NULL
   AND query LIKE $1
"""


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


async def until(predicate, timeout: float = 20) -> None:
    """Wait for ``predicate()`` (a bool, or an awaitable of one) to hold; fail after ``timeout``."""
    with trio.fail_after(timeout):
        while not (await ok if inspect.isawaitable(ok := predicate()) else ok):
            await trio.sleep(0.02)


async def test_a_writer_connection_killed_mid_transaction_fails_only_its_batch_and_the_retry_stores_each_release_once(
        db, db_url, sim_url, sim):
    await sim.release(language="ml", count=30)
    holder = await db.acquire()
    try:
        with captured_logs() as logs:
            async with running_daemon(daemon_config(db_url, sim_url)) as daemon:
                await db.run(holder.execute, f"BEGIN; SELECT pg_advisory_xact_lock({WRITER_LOCK})")
                control = daemon.runtime.services.control
                first = control.request_round("test").round_id
                writer = None

                async def writer_waits() -> bool:
                    nonlocal writer
                    writer = await db.fetchval(_WAITING, f"%pg_advisory_xact_lock({WRITER_LOCK})%")
                    return writer is not None

                await until(writer_waits)
                assert await db.fetchval("SELECT pg_terminate_backend($1)", writer)
                await until(lambda: bool(events_named(logs, "store_error")))
                await db.run(holder.execute, "ROLLBACK")  # the other batches of the round go through
                failed = await daemon.rounds.wait(first)

                [store_error] = events_named(logs, "store_error")
                assert store_error["error"].startswith("DatabaseUnavailable: the database connection failed")
                # the batch fails as a whole (its first request, or two that arrived together) and its
                # fetchers hear so; the other scopes' batches are stored
                lost = {e["language"] for e in events_named(logs, "fetch_error", kind="store")}
                assert failed.errors == len(lost) >= 1 and failed.requests == 9  # 3 pages for each of 3
                assert await db.fetchval("SELECT count(*) FROM releases WHERE language = ANY($1)", list(lost)) == 0
                kept = await db.fetch("SELECT DISTINCT language FROM releases")
                assert sorted(r["language"] for r in kept) == sorted(set(LANGUAGES) - lost)

                # a failed scope backs off (a database error is a failure like any other) …
                skipped = await daemon.round()
                # the stored scopes see nothing new on page 1; a failed one is not called
                assert (skipped.errors, skipped.requests, skipped.events) == (0, 3 - len(lost), 0)
                for language in lost:
                    assert len(events_named(logs, "fetch_skipped", language=language, reason="backing_off")) == 1
                # … until its back-off (30–60 s) has run out
                await db.execute("UPDATE fetch_state SET backoff_until = now() WHERE scope = ANY($1)", list(lost))
                retried = await daemon.round()
                assert retried.errors == 0 and retried.events > 0
    finally:
        await db.run(holder.execute, "ROLLBACK")  # a no-op when already released
        await db.release(holder)

    wanted = await sim.kept_ids(LANGUAGES)
    rows = await db.fetch("SELECT id, external_id, release_date >= current_date - 7 AS new FROM releases")
    assert sorted(r["external_id"] for r in rows) == sorted(wanted)  # each once, none lost
    events = await db.fetch("SELECT release_id FROM events")
    assert sorted(e["release_id"] for e in events) == sorted(r["id"] for r in rows if r["new"])
    assert len(events_named(logs, "store_error")) == 1
