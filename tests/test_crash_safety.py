"""``kill -9`` in the middle of a round, then a restart: nothing stored twice, nothing announced twice,
no token refilled by the restart, no request without a token.

The daemon runs as ``vibed run`` in a subprocess against this test's database and simulator.  The
kill lands either while a fetch hangs upstream, or — forced, not hoped for — inside the writer's
transaction: the test holds a lock that transaction needs and waits until PostgreSQL shows the
daemon's backend waiting on it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import trio

from tests.pipeline_support import FAR_AWAY, LANGUAGES, LineReader, quiet_sim_settings
from tests.stream_support import open_sse
from vibed.simulator import SimSettings

FETCHERS = 2
BUDGET = 1000


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


class DaemonProcess:
    """`vibed run` as a child process; its JSON log lines, read as they come."""

    def __init__(self, process: trio.Process) -> None:
        self.process = process
        self.stdout = LineReader(process.stdout)
        self.events: list[dict[str, Any]] = []

    async def until(self, match: Callable[[dict[str, Any]], bool], timeout: float = 20) -> dict[str, Any]:
        with trio.fail_after(timeout):
            while True:
                line = await self.stdout.readline()
                if line is None:
                    raise AssertionError("vibed exited; its output ends:\n" + "\n".join(self.stdout.lines[-20:]))
                if not line.startswith("{"):
                    continue
                event = json.loads(line)
                self.events.append(event)
                if match(event):
                    return event

    def named(self, name: str, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == name and all(e.get(k) == v for k, v in fields.items())]


@asynccontextmanager
async def vibed_run(db_url: str, sim_url: str, workdir: Path) -> AsyncIterator[DaemonProcess]:
    env = {
        **os.environ, "DATABASE_URL": db_url, "JIOSAAVN_BASE_URL": sim_url, "PORT": "0",
        "VIBED_HOST": "127.0.0.1", "VIBED_SCHEDULE": FAR_AWAY, "VIBED_LANGUAGES": ",".join(LANGUAGES),
        "VIBED_PAGE_CAP": "10", "VIBED_FETCHERS": str(FETCHERS), "VIBED_DATA_DIR": str(workdir),
        "VIBED_GRACE_PERIOD": "3",
    }
    for name in ("REDIS_URL", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "JWT_SECRET", "DEBUG"):
        env.pop(name, None)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "vibed.cli", "run"], cwd=workdir, env=env,  # cwd: no .env, no config file
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        daemon = DaemonProcess(process)
        await daemon.until(lambda e: e["event"] == "daemon_ready")
        yield daemon
    finally:
        if process.returncode is None:
            process.kill()
        with trio.move_on_after(10):
            await process.wait()


async def test_kill_9_mid_round_then_restart_stores_and_announces_each_release_once(
        db, db_url, sim_url, sim, tmp_path):
    await db.execute("UPDATE rate_limit_tokens SET tokens=$1, max_tokens=$1, refill_rate=0"
                     " WHERE service_name='jiosaavn'", BUDGET)  # no refill: tokens spent are exact
    await sim.release(language="ml", count=120)  # ml: 5 pages to fetch, the others 3
    # ml's page 1 comes at once, its page 2 hangs: the kill finds ml half-fetched
    await sim.inject("slow", language="ml", delay=0, count=1)
    await sim.inject("slow", language="ml", delay=30, count=1)

    async with vibed_run(db_url, sim_url, tmp_path) as daemon:
        daemon.process.send_signal(signal.SIGUSR1)
        # meanwhile the other fetcher does hi, then ta: at ta's last page the round is half-way
        await daemon.until(lambda e: e["event"] == "fetch_success" and e.get("language") == "ta"
                           and e.get("last_page"))
        daemon.process.kill()
        assert await daemon.process.wait() == -signal.SIGKILL
    assert not daemon.named("fetch_completed")
    assert [e["page"] for e in daemon.named("fetch_success", language="ml")] == [1]
    assert (await sim.stats())["jiosaavn"]["ml"] == 2  # page 2 was in flight
    assert await db.fetchval("SELECT count(*) FROM releases WHERE language = 'hi'") > 0  # hi was done

    async with vibed_run(db_url, sim_url, tmp_path) as daemon:
        daemon.process.send_signal(signal.SIGUSR1)
        done = await daemon.until(lambda e: e["event"] == "fetch_completed")
        daemon.process.send_signal(signal.SIGTERM)
        await daemon.until(lambda e: e["event"] == "daemon_stopped")
        assert await daemon.process.wait() == 0
    assert done["errors"] == 0

    # every release the simulator has is stored once: the killed run left no gap, and no duplicate
    wanted = await sim.kept_ids(LANGUAGES)
    rows = await db.fetch("SELECT external_id FROM releases")
    assert len(rows) == len({r["external_id"] for r in rows})
    assert {r["external_id"] for r in rows} == wanted

    # each release announced at most once, and every new one announced
    twice = await db.fetch("SELECT release_id FROM events GROUP BY release_id HAVING count(*) > 1")
    assert twice == []
    new = await db.fetchval("SELECT count(*) FROM releases WHERE release_date >= current_date - 7")
    assert await db.fetchval("SELECT count(*) FROM events") == new > 100

    # the restart refilled nothing, and nothing was asked without a token; a token taken right
    # before the kill may not have reached upstream (at most one per fetcher)
    spent = BUDGET - await db.fetchval("SELECT tokens FROM rate_limit_tokens WHERE service_name='jiosaavn'")
    requests = (await sim.stats())["total"]
    assert requests <= spent <= requests + FETCHERS, (spent, requests)


# vibed/store/releases.py: every writer transaction takes this advisory lock first (event ids commit in order)
WRITER_LOCK = 7669626564

# where the test freezes the writer's transaction: the lock the test holds, and the statement the
# daemon's backend is then seen waiting in
SEAMS = {
    # inside the transaction, before anything is written
    "advisory_lock": (f"SELECT pg_advisory_xact_lock({WRITER_LOCK})", f"%pg_advisory_xact_lock({WRITER_LOCK})%"),
    # the releases are upserted (not committed); their events cannot be inserted
    "events_insert": ("LOCK TABLE events IN EXCLUSIVE MODE", "%INSERT INTO events%"),
}

_WAITING = """
SELECT pid, backend_xid IS NOT NULL AS wrote
  FROM pg_stat_activity
 WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
   AND wait_event_type = 'Lock' AND xact_start IS NOT NULL AND query LIKE $1
"""


async def backend_waiting(db, query: str, timeout: float = 20) -> Any:
    """The daemon's backend once it waits on the test's lock inside its transaction."""
    with trio.fail_after(timeout):
        while (row := await db.fetchrow(_WAITING, query)) is None:
            await trio.sleep(0.02)
    return row


async def backend_gone(db, pid: int, timeout: float = 20) -> None:
    with trio.fail_after(timeout):
        while await db.fetchval("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", pid):
            await trio.sleep(0.02)


@pytest.mark.parametrize("seam", list(SEAMS))
async def test_kill_9_inside_the_writer_transaction_commits_nothing_and_the_restart_stores_and_announces_each_release_once(
        db, db_url, sim_url, sim, tmp_path, seam):
    lock_sql, waiting_in = SEAMS[seam]
    # the server drops a dead client's transaction while it still waits, as it does anyway at its next read
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f'ALTER DATABASE "{name}" SET client_connection_check_interval = 50')
    released = {r["id"] for r in await sim.release(language="ml", count=60)  # released today: new
                if r["kind"] != "playlist" and r["language"] == "ml"}

    holder = await db.acquire()
    try:
        async with vibed_run(db_url, sim_url, tmp_path) as daemon:
            await db.run(holder.execute, f"BEGIN; {lock_sql}")
            daemon.process.send_signal(signal.SIGUSR1)
            frozen = await backend_waiting(db, waiting_in)
            daemon.process.kill()
            assert await daemon.process.wait() == -signal.SIGKILL
        # its transaction dies while the test still holds the lock: it never reaches a commit
        await backend_gone(db, frozen["pid"])
    finally:
        await db.run(holder.execute, "ROLLBACK")
        await db.release(holder)
    assert not daemon.named("new_songs_published")
    assert await db.fetchval("SELECT count(*) FROM releases") == 0
    assert await db.fetchval("SELECT count(*) FROM events") == 0
    assert frozen["wrote"] is (seam == "events_insert")  # its transaction had upserted, or not yet

    async with vibed_run(db_url, sim_url, tmp_path) as daemon:
        port = daemon.named("daemon_ready")[0]["port"]
        async with open_sse(port) as stream:
            daemon.process.send_signal(signal.SIGUSR1)
            done = await daemon.until(lambda e: e["event"] == "fetch_completed")
            daemon.process.send_signal(signal.SIGTERM)
            await daemon.until(lambda e: e["event"] == "daemon_stopped")
            assert await daemon.process.wait() == 0
            announced = []
            with trio.fail_after(10):  # the stream ends with the daemon: every frame it sent is here
                while (frame := await stream.frame()) is not None:
                    if frame.get("event") == "new_release":
                        announced.append(frame)
    assert done["errors"] == 0

    wanted = await sim.kept_ids(LANGUAGES)
    rows = await db.fetch("SELECT id, external_id, release_date >= current_date - 7 AS new FROM releases")
    assert sorted(r["external_id"] for r in rows) == sorted(wanted)  # each once, none lost
    assert released <= {r["external_id"] for r in rows if r["new"]}
    new = {r["id"] for r in rows if r["new"]}
    events = await db.fetch("SELECT id, release_id FROM events ORDER BY id")
    assert sorted(e["release_id"] for e in events) == sorted(new)  # each new release announced once
    assert [(f["id"], f["data"]["id"]) for f in announced] == [(e["id"], e["release_id"]) for e in events]
