"""The embedded PostgreSQL fails under a running daemon: killed, stopped, shared with ``vibed migrate``."""

from __future__ import annotations

import contextlib
import itertools
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

from tests.daemon_proc import VIBED, clean_env, free_port
from tests.faults.conftest import LiveDaemon, record

KILLS = 5  # each kill lands somewhere else in a round (seeded)
STOPPED_S = 5.0  # over three of the pool's 1.5 s query deadlines: every path has timed out more than once


def _gone_or_reaped(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ")[1].split()[0]
    except (FileNotFoundError, IndexError):
        return True
    return state != "Z"


def test_migrate_during_a_run_uses_the_server_and_leaves_it_running(live_daemon: LiveDaemon) -> None:
    before = live_daemon.postmaster
    done = subprocess.run([*VIBED, "migrate"], env=clean_env(VIBED_DATA_DIR=str(live_daemon.data_dir)),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "embedded_postgres_left_running" in done.stdout
    assert live_daemon.postmaster == before and before in live_daemon.postgres_pids()
    status, body, _ = live_daemon.api("GET", "/api/health")
    assert status == 200 and body["database"]["reachable"], body
    status, _, _ = live_daemon.api("GET", "/api/new-releases?limit=5")
    assert status == 200
    record("`vibed migrate` during a run", "server left running, health 200, listing 200")


def test_a_second_daemon_on_the_data_directory_is_refused_with_one_line(live_daemon: LiveDaemon) -> None:
    done = subprocess.run([*VIBED, "run"], env=clean_env(VIBED_DATA_DIR=str(live_daemon.data_dir),
                                                          PORT=str(free_port())),
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert done.stderr.startswith("vibed: another vibed daemon (pid ") and done.stderr.count("\n") == 1
    assert f"already runs on the data directory {live_daemon.data_dir}" in done.stderr
    status, _, _ = live_daemon.api("GET", "/api/health")
    assert status == 200


def test_sigstop_of_postgres_answers_503_within_2s_and_recovers(live_daemon: LiveDaemon) -> None:
    pids = live_daemon.postgres_pids()
    slowest = 0.0
    answers: list[int] = []
    health: list[tuple[int, str, tuple[str, ...]]] = []
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):  # a backend that ended as it was listed
            os.kill(pid, signal.SIGSTOP)
    try:
        stopped_at = time.monotonic()
        for path in itertools.cycle(("/api/health", "/api/new-releases?limit=5&language=ml", "/api/rate-limit")):
            if time.monotonic() - stopped_at >= STOPPED_S and len(answers) >= 3:
                break
            status, body, took = live_daemon.api("GET", path, timeout=10)
            answers.append(status)
            if path == "/api/health":
                health.append((status, body["status"], tuple(body["reasons"][:1])))
            slowest = max(slowest, took)
            assert took < 2.0, f"{path} took {took:.2f}s with the database stopped"
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # ended while stopped (SIGKILL still reaches it)
                os.kill(pid, signal.SIGCONT)
    # health itself, every time: not any 503 from any endpoint
    assert health and set(health) == {(503, "unavailable", ("database: not answering",))}, health
    recovered = live_daemon.wait_healthy(timeout=10)
    status, _, _ = live_daemon.api("GET", "/api/new-releases?limit=5")
    assert status == 200
    record(f"PostgreSQL SIGSTOPped for {STOPPED_S:g} s", f"{len(answers)} requests, slowest {slowest:.2f} s "
           f"({answers.count(503)} × 503); healthy {recovered:.1f} s after SIGCONT")


class StreamReader(threading.Thread):
    """An SSE client that reconnects with Last-Event-ID, as a browser does."""

    def __init__(self, url: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.ids: list[int] = []
        self.stop = threading.Event()
        self.answered = threading.Event()  # the stream's response head arrived: subscribed

    def run(self) -> None:
        import urllib.request

        last_id = ""  # as a browser keeps it: from every id: line, an event's or a bare resume point's
        while not self.stop.is_set():
            headers = {"Last-Event-ID": last_id} if last_id else {}
            try:
                request = urllib.request.Request(self.url, headers=headers)
                with urllib.request.urlopen(request, timeout=3) as stream:
                    self.answered.set()
                    for raw in stream:
                        line = raw.decode().strip()
                        if line.startswith("id:"):
                            last_id = line[3:].strip()
                        elif line.startswith("event: new_release"):  # an event, not a resume point
                            self.ids.append(int(last_id))
                        if self.stop.is_set():
                            return
            except OSError:
                time.sleep(0.2)


def test_postgres_sigkilled_mid_round_comes_back_and_loses_nothing(live_daemon: LiveDaemon) -> None:
    # the client hears events from its subscription on: the earlier ones (other tests') are not its
    already = int(live_daemon.sql("SELECT coalesce(max(id), 0) FROM events"))
    reader = StreamReader(f"http://127.0.0.1:{live_daemon.port}/api/new-releases/stream")
    reader.start()
    assert reader.answered.wait(10), "the stream answered"
    crashed_before = live_daemon.count("actor_crashed")
    added: set[str] = set()
    recoveries: list[float] = []
    rng = random.Random(10)
    try:
        for _ in range(KILLS):
            for language in ("ml", "hi"):
                status, body, _ = live_daemon.call("POST", f"{live_daemon.sim}/_sim/release",
                                                   {"language": language, "count": 3})
                assert status == 201
                # an item claiming another language is dropped by design, not lost
                added.update(r["id"] for r in body["releases"] if r["language"] == language)
            old = live_daemon.postmaster
            restarts = live_daemon.count("embedded_postgres_restarted")
            status, body, _ = live_daemon.api("POST", "/api/new-releases/fetch", {})
            assert status == 202
            time.sleep(rng.uniform(0.0, 0.3))  # somewhere in the round
            killed_at = time.monotonic()
            os.kill(old, signal.SIGKILL)
            live_daemon.wait_count("embedded_postgres_restarted", restarts + 1, timeout=10)
            live_daemon.wait_healthy(timeout=10 - (time.monotonic() - killed_at))
            recoveries.append(time.monotonic() - killed_at)
            assert live_daemon.postmaster != old
            deadline = time.monotonic() + 5
            while not _gone_or_reaped(old) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert _gone_or_reaped(old), "the killed server was reaped, not left a zombie"
            # the interrupted round finishes (its job fails or completes) before the next kill
            live_daemon.wait_event("fetch_completed", 30, round_id=body["round_id"])
        live_daemon.pass_backoff()
        live_daemon.round()
        stored = set(live_daemon.sql("SELECT external_id FROM releases WHERE source = 'jiosaavn'").split())
        lost = added - stored
        duplicated = int(live_daemon.sql(
            "SELECT count(*) FROM (SELECT release_id FROM events GROUP BY 1 HAVING count(*) > 1) d"))
        events = [int(x) for x in live_daemon.sql(f"SELECT id FROM events WHERE id > {already} ORDER BY id").split()]
        deadline = time.monotonic() + 10
        while not set(events) <= set(reader.ids) and time.monotonic() < deadline:
            time.sleep(0.1)
        missed = [i for i in events if i not in set(reader.ids)]
    finally:
        reader.stop.set()
    exited = [e for e in live_daemon.daemon.events() if e["event"] == "embedded_postgres_exited"]
    assert len(exited) >= KILLS and all("killed by SIGKILL" in e["reason"] for e in exited[-KILLS:])
    assert max(recoveries) < 10
    assert not lost, f"{len(lost)} released items never stored"
    assert duplicated == 0
    assert not missed, f"the stream client missed events {missed[:10]}"
    assert len(reader.ids) == len(set(reader.ids)), "the stream client got an event twice"
    # a delivery whose gap fill meets the dead server waits for it (delivery_retry), never crashes
    assert live_daemon.count("actor_crashed") == crashed_before
    record(f"embedded PostgreSQL SIGKILLed mid-round ×{KILLS}",
           f"back in ≤ {max(recoveries):.1f} s; {len(added)} new items: 0 lost, 0 duplicated; "
           f"SSE client missed 0 of {len(events)}")


def test_a_server_that_keeps_dying_ends_the_daemon_with_exit_1(tmp_path: Path) -> None:
    from tests.daemon_proc import Daemon, postgres_pids
    from vibed.embedded.watch import MAX_RESTARTS

    data_dir = tmp_path / "data"
    daemon = Daemon(tmp_path, clean_env(PORT=str(free_port()), VIBED_HOST="127.0.0.1",
                                        VIBED_DATA_DIR=str(data_dir), VIBED_SCHEDULE="0 0 1 1 *"))
    try:
        daemon.wait_healthy(timeout=60)
        for kill in range(MAX_RESTARTS + 1):
            pid = int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])
            os.kill(pid, signal.SIGKILL)
            if kill < MAX_RESTARTS:
                deadline = time.monotonic() + 10
                while sum(e["event"] == "embedded_postgres_restarted" for e in daemon.events()) <= kill:
                    assert time.monotonic() < deadline, daemon.stdout()[-2000:]
                    time.sleep(0.05)
        code = daemon.proc.wait(timeout=20)
    finally:
        daemon.kill()
        for pid in postgres_pids(data_dir):
            subprocess.run(["kill", "-9", str(pid)], check=False)
    assert code == 1
    assert f"the embedded PostgreSQL exited {MAX_RESTARTS + 1} times within 60 s" in daemon.stderr()
    assert daemon.stderr().count("\n") == 1, daemon.stderr()
    record(f"embedded PostgreSQL killed {MAX_RESTARTS + 1}× within a minute",
           "daemon exits 1 with one line, for systemd to restart")
