"""A reconnect storm against a real ``vibed run``: N browsers come back at once, each 50 events behind.

Reproduce (from the repository root; the kit is ``../shared/bench``, or set VIBED_BENCH_KIT):

    .venv/bin/python tests/benchmarks/reconnect_storm.py --clients 10000 19000
    .venv/bin/python tests/benchmarks/reconnect_storm.py --clients 1000 --runs 1      # a quick check

What one run does, all on 127.0.0.1 (RLIMIT_NOFILE raised to the hard limit first):
1. ``vibed run --simulate`` on a fresh data directory (embedded PostgreSQL), with the per-address
   limits off (every client here shares one address); the simulator is given ``--events`` new
   releases and rounds are run until they are stored.
2. The daemon is restarted (SIGTERM, then ``vibed run`` again on the same data): a deploy.
3. For each size N: **fresh** — ``sse_load -n N`` opens N live-only streams, and one release is
   published (the simulator's ``/_sim/release`` and ``POST /api/new-releases/fetch`` as triggers);
   ``connect_s`` is the time until all N streams were up.  **Storm** — ``sse_load -n N -L <newest-50>
   -e 50``: every stream sends ``Last-Event-ID`` 50 events behind; ``catch_up_s`` is the wall time
   from the first connect until the last stream holds all 50 events.  At the same time ``--sample``
   more streams (raw sockets, in this process) record the exact ids they get: each must get the 50
   ids after its Last-Event-ID, in order, each once.
4. From ``/metrics`` before and after each storm: replay queries that reached the database, and
   replays answered from memory.
5. The C floor (``peers/c_sse``, ``cc -O2``): its fresh connect for N clients, for reference.

Printed: one table and one JSON line.  ``ratio`` is catch_up_s / fresh connect_s of vibed in the same
run (the issue's target: <= 2).  Not collected by pytest (tests/benchmarks is excluded).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import KIT, build_sse_load, free_port, raise_fd_limit, running, wait_port  # noqa: E402

from tests.pg_support import reachable_by_the_cluster_user  # noqa: E402

STREAM = "/api/new-releases/stream"


def _get(port: int, path: str, timeout: float = 10) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as answer:
        return answer.read()


def _post(url: str, body: dict[str, Any]) -> int:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as answer:
        return answer.status


def _find(value: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in a JSON document."""
    if isinstance(value, dict):
        if key in value:
            return value[key]
        value = list(value.values())
    if isinstance(value, list):
        for item in value:
            found = _find(item, key)
            if found is not None:
                return found
    return None


def metric(port: int, name: str, labels: str = "") -> float:
    text = _get(port, "/metrics").decode()
    match = re.search(rf"^{re.escape(name + labels)} ([0-9.e+]+)$", text, re.M)
    return float(match.group(1)) if match else 0.0


@contextlib.contextmanager
def simulator(data: Path) -> Iterator[str]:
    """``vibed simulate`` as a process of its own, so its catalogue outlives the daemon's restarts."""
    port = free_port()
    with open(data / "simulator.log", "ab") as log, running(
            [sys.executable, "-m", "vibed.cli", "simulate", "--port", str(port), "--new-per-minute", "0"],
            stdout=log, stderr=subprocess.STDOUT) as proc:
        wait_port(port, proc)
        yield f"http://127.0.0.1:{port}"


class Daemon:
    """``vibed run`` (embedded PostgreSQL in ``data``, JioSaavn at ``sim``) as a child process,
    stopped as systemd would (SIGTERM).  Per-address limits are off: every client is 127.0.0.1."""

    def __init__(self, data: Path, port: int, sim: str) -> None:
        env = {**os.environ, "VIBED_DATA_DIR": str(data), "PORT": str(port), "VIBED_STREAM_LIMIT_PER_IP": "0",
               "VIBED_CONNECTIONS_PER_PEER": "0", "VIBED_API_RATE_LIMIT": "0", "JIOSAAVN_BASE_URL": sim,
               "VIBED_LANGUAGES": "ml", "VIBED_SCHEDULE": "0 0 1 1 *"}
        env.pop("DATABASE_URL", None)
        env.pop("REDIS_URL", None)
        self.port, self.sim = port, sim
        self.log = open(data / "daemon.log", "ab")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen([sys.executable, "-m", "vibed.cli", "run"], env=env,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        self.logfile = data / "daemon.log"
        self.wait_healthy()

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"vibed exited with {self.proc.returncode}; see {self.logfile}")
            with contextlib.suppress(OSError):
                json.loads(_get(self.port, "/api/health", timeout=2))
                return
            time.sleep(0.2)
        raise RuntimeError(f"vibed not healthy after {timeout:.0f} s; see {self.logfile}")

    def simulator_url(self) -> str:
        return self.sim

    def newest(self) -> int:
        return int(_find(json.loads(_get(self.port, "/api/health")), "last_event_id") or 0)

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def seed(daemon: Daemon, events: int) -> int:
    sim = daemon.simulator_url()
    _post(f"{sim}/_sim/release", {"count": events, "language": "ml"})
    deadline = time.monotonic() + 300
    seen = -1
    while seen != daemon.newest() and time.monotonic() < deadline:  # until a round stores nothing more
        seen = daemon.newest()
        with contextlib.suppress(OSError):
            _post(f"http://127.0.0.1:{daemon.port}/api/new-releases/fetch", {})
        time.sleep(2)
    return daemon.newest()


class Sampler:
    """``n`` raw SSE streams with ``Last-Event-ID``, in a thread: the exact ids each one receives."""

    def __init__(self, port: int, n: int, last_id: int, want: int) -> None:
        self.port, self.n, self.last_id, self.want = port, n, last_id, want
        self.ids: list[list[int]] = [[] for _ in range(n)]
        self.ended = 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        sel = selectors.DefaultSelector()
        request = (f"GET {STREAM} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n"
                   f"Last-Event-ID: {self.last_id}\r\n\r\n").encode()
        buffers = [b""] * self.n
        for i in range(self.n):
            sock = socket.create_connection(("127.0.0.1", self.port))
            sock.sendall(request)
            sock.setblocking(False)
            sel.register(sock, selectors.EVENT_READ, i)
        open_ = self.n
        deadline = time.monotonic() + 120
        while open_ and time.monotonic() < deadline:
            for key, _ in sel.select(1):
                i = key.data
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except BlockingIOError:
                    continue
                if not data:
                    self.ended += 1
                    sel.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    open_ -= 1
                    continue
                buffers[i] += data
                self.ids[i] = [int(m) for m in re.findall(rb"id: (\d+)\nevent: new_release\n", buffers[i])]
                if len(self.ids[i]) >= self.want:
                    sel.unregister(key.fileobj)
                    key.fileobj.close()  # type: ignore[union-attr]
                    open_ -= 1
        for key in list(sel.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]

    def verdict(self, expected: list[int]) -> dict[str, Any]:
        exact = sum(1 for got in self.ids if got == expected)
        return {"sampled": self.n, "exact": exact, "ended_early": self.ended,
                "first_wrong": next((got[:60] for got in self.ids if got != expected), None)}


def sse_load(binary: Path, port: int, n: int, *args: str, timeout: int = 120) -> tuple[dict[str, Any], float]:
    started = time.monotonic()
    out = subprocess.run([str(binary), "-p", str(port), "-P", STREAM, "-n", str(n), "-t", str(timeout), *args],
                         capture_output=True, text=True, check=True)
    wall = time.monotonic() - started
    return json.loads(out.stdout.strip().splitlines()[-1]), wall


def floor_connect(binary: Path, tmp: Path, n: int) -> float | None:
    source = KIT / "peers" / "c_sse" / "c_sse.c"
    if not source.exists():
        return None
    server = tmp / "c_sse"
    subprocess.run(["cc", "-O2", "-o", str(server), str(source)], check=True)
    port = free_port()
    with running([str(server), str(port)], stdout=subprocess.DEVNULL) as proc:
        wait_port(port, proc)
        out = subprocess.run([str(binary), "-p", str(port), "-P", "/events", "-n", str(n), "-e", "1",
                              "-T", "POST /publish"], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])["connect_ms"] / 1000


def one_size(daemon: Daemon, binary: Path, n: int, behind: int, sample: int, sim: str) -> dict[str, Any]:
    fresh, _ = sse_load(binary, daemon.port, n, "-e", "1", "-T", f"POST :{sim.rsplit(':', 1)[1]}/_sim/release",
                        "-T", "POST /api/new-releases/fetch")
    newest = daemon.newest()
    last_id = newest - behind
    time.sleep(1)  # the fresh streams' sockets are gone from the daemon's count
    queries_before = metric(daemon.port, "vibed_replay_queries_total")
    memory_before = metric(daemon.port, "vibed_stream_replays_total", '{source="memory"}')
    sampler = Sampler(daemon.port, sample, last_id, behind)
    sampler.thread.start()
    storm, wall = sse_load(binary, daemon.port, n, "-e", str(behind), "-L", str(last_id))
    sampler.thread.join(130)
    expected = sampler.ids[0] if sampler.ids and len(sampler.ids[0]) == behind else []
    got_all = storm["events"][-1]["got"] if storm["events"] else 0
    return {
        "clients": n, "behind": behind, "last_event_id": last_id,
        "fresh_connect_s": round(fresh["connect_ms"] / 1000, 3), "fresh_dead": fresh["dead"],
        "fresh_got": fresh["events"][0]["got"] if fresh["events"] else 0,
        "storm_connect_s": round(storm["connect_ms"] / 1000, 3), "catch_up_s": round(wall, 3),
        "ratio": round(wall / (fresh["connect_ms"] / 1000), 2),
        "caught_up": got_all, "dead": storm["dead"], "streaming": storm["streaming"],
        "replay_queries": metric(daemon.port, "vibed_replay_queries_total") - queries_before,
        "from_memory": metric(daemon.port, "vibed_stream_replays_total", '{source="memory"}') - memory_before,
        "sample": {**sampler.verdict(expected), "in_order_unique": bool(expected) and expected == sorted(set(expected))},
    }


def storms(args: argparse.Namespace, binary: Path, tmp: Path, data: Path, port: int,
           sim: str) -> tuple[list[dict[str, Any]], int]:
    daemon = Daemon(data, port, sim)
    try:
        stored = seed(daemon, args.events)
        daemon.stop()
        daemon = Daemon(data, port, sim)  # the deploy: every browser comes back to a fresh process
        results = []
        for n in args.clients:
            runs = [one_size(daemon, binary, n, args.behind, args.sample, sim) for _ in range(args.runs)]
            floor = floor_connect(binary, tmp, n)
            results.append({"clients": n, "runs": runs, "floor_connect_s": floor,
                            "median_ratio": statistics.median(r["ratio"] for r in runs)})
    finally:
        daemon.stop()
    return results, stored


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[10_000, 19_000])
    parser.add_argument("--behind", type=int, default=50)
    parser.add_argument("--events", type=int, default=300, help="releases stored before the restart")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sample", type=int, default=100)
    args = parser.parse_args()
    raise_fd_limit()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        reachable_by_the_cluster_user(tmp, tmp)  # as root: the cluster's user must reach the data directory
        binary = build_sse_load(tmp)
        data = tmp / "data"
        data.mkdir()
        port = free_port()
        with simulator(tmp) as sim:
            results, stored = storms(args, binary, tmp, data, port, sim)
    print(f"{'clients':>8} {'fresh_s':>8} {'catch_up_s':>10} {'ratio':>6} {'caught_up':>9} {'dead':>5} "

          f"{'db_queries':>10} {'memory':>7} {'sample_exact':>12} {'floor_s':>8}")
    for size in results:
        for r in size["runs"]:
            print(f"{r['clients']:>8} {r['fresh_connect_s']:>8.2f} {r['catch_up_s']:>10.2f} {r['ratio']:>6.2f} "
                  f"{r['caught_up']:>9} {r['dead']:>5} {r['replay_queries']:>10.0f} {r['from_memory']:>7.0f} "
                  f"{r['sample']['exact']:>5}/{r['sample']['sampled']:<6} {size['floor_connect_s'] or 0:>8.2f}")
    print(json.dumps({"stored": stored, "sizes": results}))


if __name__ == "__main__":
    main()
