"""Server CPU to admit a crowd: vibed's edge against the C floor, fresh and keep-alive, side by side.

    VIBED_BENCH_KIT=../shared/bench .venv/bin/python tests/benchmarks/admission_cpu.py --clients 10000 --repeat 3

The connect time of ``sse_fanout.py`` moves with whatever else the machine runs; the CPU the server
spends admitting the crowd moves much less, and on a shared 2-core machine the connect ratio follows
it.  Per round and server: start the server (vibed: ``sse_server.py``, the real edge and hub; the floor:
the kit's ``c_sse.c``), let ``sse_load`` open ``--clients`` streams (``-K`` first loads the page on the
same connection: vibed's ``/``, held at the edge, the floor's ``/api/health``) and deliver one event,
and read the server's user and system CPU from ``/proc/PID/stat`` before and after.  Prints the median
of each and vibed / floor.  Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import KIT, build_sse_load, free_port, raise_fd_limit, wait_port  # noqa: E402
from sse_fanout import SERVER, STREAM_PATH, build_floor  # noqa: E402

TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> tuple[float, float]:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) / TICK, int(fields[12]) / TICK  # utime, stime


def one(load: Path, floor: Path | None, keepalive: bool, clients: int) -> dict[str, float]:
    """One crowd against one fresh server: its CPU (user, system) and the tool's connect time."""
    if floor is not None:
        port = free_port()
        server = subprocess.Popen([str(floor), str(port)], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        wait_port(port, server)
        stream, trigger, page = "/events", "POST /publish", "/api/health"
    else:
        server = subprocess.Popen([sys.executable, str(SERVER)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  text=True)
        port = json.loads(server.stdout.readline())["port"]  # type: ignore[union-attr]
        urllib.request.urlopen(f"http://127.0.0.1:{port}/").read()  # an earlier visitor: the edge holds the page
        stream, trigger, page = STREAM_PATH, "POST /_bench/publish", "/"
    try:
        time.sleep(0.3)
        before = cpu_s(server.pid)
        command = [str(load), "-p", str(port), "-P", stream, "-n", str(clients), "-e", "1", "-T", trigger,
                   "-w", "300", "-t", "60", *(["-K", page] if keepalive else [])]
        report = json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout.splitlines()[-1])
        after = cpu_s(server.pid)
    finally:
        server.kill()
        server.wait()
    return {"user_s": after[0] - before[0], "sys_s": after[1] - before[1], "connect_s": report["connect_ms"] / 1000,
            "streaming": report["streaming"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    raise_fd_limit()
    print(f"kit: {KIT}", flush=True)
    with tempfile.TemporaryDirectory(prefix="vibed-admission-") as tmp:
        load, floor = build_sse_load(Path(tmp)), build_floor(Path(tmp))
        runs: dict[tuple[str, bool], list[dict[str, float]]] = {}
        for _ in range(args.repeat):  # round by round: a busy moment weighs on every server alike
            for keepalive in (False, True):
                for name, binary in (("floor", floor), ("vibed", None)):
                    runs.setdefault((name, keepalive), []).append(one(load, binary, keepalive, args.clients))
    medians = {key: {k: round(statistics.median(r[k] for r in rs), 3) for k in rs[0]} for key, rs in runs.items()}
    for keepalive in (False, True):
        mode = "keep-alive" if keepalive else "fresh"
        floor_run, vibed_run = medians[("floor", keepalive)], medians[("vibed", keepalive)]
        for name, run in (("C floor", floor_run), ("vibed", vibed_run)):
            print(f"{name:8} {mode:10} server CPU user {run['user_s']:.2f} s + sys {run['sys_s']:.2f} s "
                  f"per {args.clients} connections (connect {run['connect_s']:.2f} s, {run['streaming']:.0f} streaming)")
        total = (vibed_run["user_s"] + vibed_run["sys_s"]) / max(floor_run["user_s"] + floor_run["sys_s"], 1e-9)
        print(f"vibed / floor, {mode}: server CPU x{total:.2f}")
    print(json.dumps({"benchmark": "admission_cpu", "clients": args.clients, "rounds": args.repeat,
                      "medians": {f"{n}/{'keepalive' if k else 'fresh'}": m for (n, k), m in medians.items()}}))


if __name__ == "__main__":
    main()
