"""The fault suite: a real ``vibed run --simulate`` process with its own embedded PostgreSQL.

Each test records one row of the reliability table (``record``: the scenario and what was
measured); whether it held is the test's own outcome, so a failing test shows ✘ (and a test
that failed before it measured anything shows its error).  The table is printed at the end of
the run, for the README's reliability section.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon_proc import Daemon, clean_env, free_port, postgres_pids
from tests.pg_support import reachable_by_the_cluster_user
from vibed.embedded.server import PORT, bin_dir
from vibed.http.auth import issue_token

SECRET = "faults-suite-secret-0123456789abcdef-0123"  # rounds are asked with a token: an operator's
ROWS: dict[str, list[str]] = {}  # test id -> [scenario, measured, held]


def record(scenario: str, measured: str) -> None:
    """The running test's row; its verdict is filled in from the test's outcome."""
    test_id = os.environ["PYTEST_CURRENT_TEST"].rsplit(" ", 1)[0]
    ROWS[test_id] = [scenario, measured, "?"]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call":
        return
    if item.nodeid not in ROWS and report.failed:  # failed before it measured: its error is the row
        error = call.excinfo.exconly().splitlines()[0][:160] if call.excinfo is not None else "?"
        ROWS[item.nodeid] = [item.name, f"failed before measuring: {error}", "?"]
    if item.nodeid in ROWS:
        ROWS[item.nodeid][2] = "✔" if report.passed else "✘"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not ROWS:
        return
    terminalreporter.section("reliability (tests/faults)")
    terminalreporter.write_line("| scenario | measured | held |")
    terminalreporter.write_line("|---|---|---|")
    for row in ROWS.values():
        terminalreporter.write_line(f"| {row[0]} | {row[1]} | {row[2]} |")


class LiveDaemon:
    """A daemon process, its data directory, its simulator, and SQL through ``psql``."""

    def __init__(self, daemon: Daemon, data_dir: Path, sim_port: int) -> None:
        self.daemon = daemon
        self.data_dir = data_dir
        self.port = daemon.port
        self.sim = f"http://127.0.0.1:{sim_port}"

    @property
    def postmaster(self) -> int:
        return int((self.data_dir / "postgres" / "postmaster.pid").read_text().split()[0])

    def postgres_pids(self) -> list[int]:
        """The postmaster and every backend and helper it forked."""
        pids = postgres_pids(self.data_dir)
        for proc in Path("/proc").iterdir():
            try:
                ppid = int((proc / "stat").read_text().rsplit(") ", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            if ppid in pids[:1]:
                pids.append(int(proc.name))
        return pids

    def sql(self, query: str) -> str:
        # a --simulate daemon keeps its state in a database of its own (vibed_sim), never in vibed
        done = subprocess.run(
            [str(bin_dir() / "psql"), "-h", str(self.data_dir / "postgres"), "-p", str(PORT), "-U", "postgres",
             "-d", "vibed_sim", "-Atc", query], capture_output=True, text=True, timeout=30, check=True)
        return done.stdout.strip()

    def call(self, method: str, url: str, body: Any = None, timeout: float = 10) -> tuple[int, Any, float]:
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json",
                   "Authorization": f"Bearer {issue_token(SECRET, ttl=600, subject='faults')}"}  # no poke budget
        req = urllib.request.Request(url, data=data, method=method, headers=headers)
        started = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=timeout) as answer:
                return answer.status, json.loads(answer.read() or b"null"), time.monotonic() - started
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null"), time.monotonic() - started

    def api(self, method: str, path: str, body: Any = None, timeout: float = 10) -> tuple[int, Any, float]:
        return self.call(method, f"http://127.0.0.1:{self.port}{path}", body, timeout)

    def round(self, timeout: float = 30) -> str:
        """Start a round and wait for its ``fetch_completed`` line; its round id."""
        status, body, _ = self.api("POST", "/api/new-releases/fetch", {})
        assert status == 202, body
        round_id = body["round_id"]
        self.wait_event("fetch_completed", timeout, round_id=round_id)
        return round_id

    def wait_event(self, name: str, timeout: float, **fields: Any) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for event in self.daemon.events():
                if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                    return event
            time.sleep(0.1)
        raise AssertionError(f"no {name} {fields} within {timeout}s; stdout ends: {self.daemon.stdout()[-1500:]}")

    def wait_healthy(self, timeout: float) -> float:
        return self.daemon.wait_healthy(timeout)

    def count(self, name: str) -> int:
        return sum(1 for e in self.daemon.events() if e["event"] == name)

    def wait_count(self, name: str, count: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count(name) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"fewer than {count} {name} lines within {timeout}s")
            time.sleep(0.05)

    def pass_backoff(self) -> None:
        """Failed runs back off for minutes; let that time pass without waiting for it."""
        self.sql("UPDATE fetch_state SET backoff_until = now() - interval '1 second'")


@pytest.fixture(scope="session")
def live_daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDaemon]:
    # one daemon for the whole suite: starting one (initdb included) costs seconds on a shared machine
    root = tmp_path_factory.mktemp("faults")
    reachable_by_the_cluster_user(root, tmp_path_factory.getbasetemp())  # as root: see tests/conftest.py
    data_dir = root / "data"
    sim_port = free_port()
    env = clean_env(PORT=str(free_port()), VIBED_HOST="127.0.0.1", VIBED_DATA_DIR=str(data_dir),
                    VIBED_LANGUAGES="ml,hi", VIBED_SCHEDULE="0 0 1 1 *", VIBED_SIMULATE="true",
                    VIBED_SIMULATE_PORT=str(sim_port), VIBED_API_RATE_LIMIT="0",
                    VIBED_UPSTREAM_TIMEOUT="4", JWT_SECRET=SECRET)
    daemon = Daemon(root, env)
    try:
        daemon.wait_healthy(timeout=60)
        live = LiveDaemon(daemon, data_dir, sim_port)
        live.wait_event("fetch_completed", 30)  # --simulate's start-up round
        yield live
        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.stderr()
    finally:
        daemon.kill()
        for pid in postgres_pids(data_dir):
            subprocess.run(["kill", "-9", str(pid)], check=False)
