"""``kill -9`` in the middle of a round, then a restart: nothing stored twice, nothing announced twice,
no token refilled by the restart, no request without a token.

The daemon runs as ``vibed run`` in a subprocess against this test's database and simulator.
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
    wanted = set()
    for lang in LANGUAGES:
        wanted |= {r["id"] for r in await sim.catalogue(language=lang)
                   if r["kind"] != "playlist" and r["language"] == lang}
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
