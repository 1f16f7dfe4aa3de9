"""``vibed backfill`` as a real process against the simulator: within its share, silent, resumable after SIGINT."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import time
import urllib.request

import trio
import trio_asyncio

from tests.daemon_proc import VIBED, clean_env
from vibed.store.postgres import open_database


def env_for(database: str, sim: str) -> dict[str, str]:
    return clean_env(DATABASE_URL=database, JIOSAAVN_BASE_URL=sim, VIBED_PAGE_SIZE="10")


def backfill(tmp_path, env, *args: str, timeout: float = 60) -> tuple[int, list[dict]]:
    done = subprocess.run([*VIBED, "backfill", "--language", "ml", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=timeout)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()]


def sim_requests(sim: str) -> int:
    with urllib.request.urlopen(f"{sim}/_sim/stats", timeout=5) as r:
        return json.loads(r.read())["jiosaavn"].get("ml", 0)


def sim_post(sim: str, path: str, body: dict | None = None, method: str = "POST") -> None:
    data = None if body is None else json.dumps(body).encode()
    urllib.request.urlopen(urllib.request.Request(f"{sim}{path}", data=data, method=method), timeout=5).read()


def query(database: str, sql: str):
    async def main():
        async with trio_asyncio.open_loop(), open_database(database, pool_size=1) as db:
            return await db.fetchval(sql)

    return trio.run(main)


def pages_of(lines: list[dict]) -> list[int]:
    return [e["page"] for e in lines if e["event"] == "backfill_page"]


def test_never_over_its_share_and_stores_without_announcing(tmp_path, fresh_db_url, simulator):
    env = env_for(fresh_db_url, simulator)
    code, lines = backfill(tmp_path, env, "--days", "90", "--max-requests", "3")
    assert code == 0
    assert pages_of(lines) == [1, 2, 3]  # one JSON line per page, no terminal here
    finished = lines[-1]
    assert finished["event"] == "backfill_finished" and finished["reason"] == "budget_spent"
    assert sim_requests(simulator) == 3
    assert query(fresh_db_url, "SELECT tokens FROM rate_limit_tokens WHERE service_name='jiosaavn'") < 997.01
    assert query(fresh_db_url, "SELECT count(*) FROM releases") == sum(e["new"] for e in lines if "page" in e) > 0
    assert query(fresh_db_url, "SELECT count(*) FROM events") == 0  # history, not news

    # the default share is a tenth of what is left today
    subprocess.run([*VIBED, "bucket", "set", "jiosaavn", "--tokens", "25"], env=env, cwd=tmp_path, check=True,
                   capture_output=True)
    code, lines = backfill(tmp_path, env, "--days", "90")
    assert code == 0 and pages_of(lines) == [4, 5] and lines[-1]["reason"] == "budget_spent"
    assert sim_requests(simulator) == 5


def test_resumes_after_sigint_at_the_first_page_not_stored(tmp_path, fresh_db_url, simulator):
    env = env_for(fresh_db_url, simulator)
    sim_post(simulator, "/_sim/faults", {"language": "ml", "kind": "slow", "delay": 0.5})
    proc = subprocess.Popen([*VIBED, "backfill", "--language", "ml", "--days", "90", "--max-requests", "20"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)
    try:
        first = json.loads(proc.stdout.readline())
        while first["event"] != "backfill_page":
            first = json.loads(proc.stdout.readline())
        proc.send_signal(signal.SIGINT)
        rest = [json.loads(line) for line in proc.stdout.read().splitlines()]
        assert proc.wait(15) == 130
    finally:
        proc.kill()
        proc.stdout.close()
    stored = pages_of([first, *rest])
    assert stored and stored == list(range(1, len(stored) + 1)) and len(stored) < 6
    assert rest[-1]["reason"] == "interrupted"
    spent = sim_requests(simulator)
    assert spent == len(stored)  # the page in flight at SIGINT was finished and stored, nothing else asked

    sim_post(simulator, "/_sim/faults", method="DELETE")
    code, lines = backfill(tmp_path, env, "--days", "90", "--max-requests", "20")
    assert code == 0 and lines[-1]["reason"] == "covered"
    resumed = pages_of(lines)
    assert resumed[0] == len(stored) + 1  # where the interrupted run stopped
    assert sim_requests(simulator) == spent + len(resumed)
    # covered: the oldest release stored is older than the window
    assert query(fresh_db_url, "SELECT current_date - min(release_date) FROM releases") > 90

    code, lines = backfill(tmp_path, env, "--days", "90")
    assert code == 0 and pages_of(lines) == [] and lines[-1]["reason"] == "covered"  # nothing left to do


def test_a_terminal_gets_a_progress_bar(tmp_path, fresh_db_url, simulator):
    env = env_for(fresh_db_url, simulator)
    env["COLUMNS"] = "120"
    parent, child = pty.openpty()
    proc = subprocess.Popen([*VIBED, "backfill", "--language", "ml", "--days", "30", "--max-requests", "5"],
                            cwd=tmp_path, env=env, stdout=child, stderr=child, stdin=subprocess.DEVNULL)
    os.close(child)
    out = b""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            chunk = os.read(parent, 65536)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    assert proc.wait(30) == 0
    os.close(parent)
    text = out.decode(errors="replace")
    assert "backfill ml" in text and "/30 days" in text
    assert '"event": "backfill_page"' not in text  # the bar replaces the JSON lines
