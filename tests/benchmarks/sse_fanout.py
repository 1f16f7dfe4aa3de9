"""SSE fan-out, side by side: the C floor, the Express peer and vibed's edge + hub, fresh and keep-alive.

Reproduce (from the repository root; the kit is ``../shared/bench``, or set VIBED_BENCH_KIT):

    .venv/bin/python tests/benchmarks/sse_fanout.py --clients 10000 --events 30
    .venv/bin/python tests/benchmarks/sse_fanout.py --clients 10000 --events 10 --only floor,fresh,keepalive --repeat 5
    .venv/bin/python tests/benchmarks/sse_fanout.py --clients 19000 --overflow 1000 --only none
    .venv/bin/python tests/benchmarks/sse_fanout.py --clients 1000 --events 10      # a quick check

What one run does, all on 127.0.0.1 (RLIMIT_NOFILE soft raised to hard first; children inherit it):
1. ``gcc -O2`` the kit's ``sse_load.c`` into a temporary directory: the one load generator for
   every server, so the clients cost the same whoever serves them; ``cc -O2`` the kit's
   ``peers/c_sse/c_sse.c``, the floor.
1b. **C floor** (one thread, epoll, the same contract): ``sse_load -P /events -T 'POST /publish'``,
   fresh, and with ``-K /api/health`` (its one other GET) for keep-alive.
2. **Express peer** (``peers/express_sse``, ``npm ci`` once into ``~/.cache/vibed-bench``):
   ``sse_load -n N -P /events -T 'POST /publish'``, every stream on a fresh connection.
3. **vibed, fresh connections**: a server process of its own (``sse_server.py``, so its RSS is its own)
   running the real edge, ``vibed.edge.server.serve_http`` (guard with the API limit off, edge
   cache, metrics), over the hub and a tiny Quart-Trio app that has ``GET /`` (a small page) and
   ``POST /_bench/publish`` (one release into ``Sequencer.deliver``, the broadcaster's path into
   the hub).  No database, no upstream.  ``sse_load -n N -P /api/new-releases/stream -T 'POST
   /_bench/publish'``.
4. **vibed, keep-alive**: a new server process, the same with ``-K /``: each connection first
   sends ``GET /`` and then the stream request on the same connection, as a browser whose
   EventSource reuses the page's connection (or a proxy's upstream pool).
5. With ``--overflow K``: a new server with ``max_streams`` = N (or ``--max-streams``) holds N
   streams from ``sse_load``; then K more stream requests on fresh connections and K after a
   ``GET /`` on keep-alive ones are each told to come back: a ``200`` whose body is a comment and a
   spread ``retry:``, then its end (an EventSource gives up for good on a 503).

How to read it (one table, then one JSON line):
- ``held``: the most streams the server itself counted (peer: ``/api/health`` polled every
  50 ms; vibed: its admission count, watched every 10 ms inside the bench server).
- ``connect_s``: from starting ``sse_load`` until every stream was up.  Fresh connections: the
  tool's figure (a stream's response head arrives once it is registered).  Keep-alive: the tool
  counts a connection once ``GET /`` is answered, so the figure is the moment vibed's own count
  reached its maximum (``server_connect_s`` in the JSON; ``tool_connect_s`` is there too).
- ``p50_ms`` / ``p99_ms``: for each event, ``sse_load`` times the trigger's send to arrival on
  every connection and takes that event's p50 / p99; the table shows the median over events.
  ``events_ok`` = events that reached every held stream.
- ``kib_per_conn``: (server VmRSS peak during the run - VmRSS before connecting) / held;
  ``kib_per_conn_end``: the same with the last VmRSS sample while every stream was still held
  (after the events).  A peak well above the end is transient (requests in flight while
  connecting); Python rarely gives freed memory back, so the end is an upper bound of the
  lasting cost.  The JSON also has VmRSS when the last stream came up (``all_up``).
- vibed's ``GET /`` is marked edge-cacheable like the product's live page, and is fetched once
  before the keep-alive run (an earlier visitor), so the crowd finds it held; ``--page-cold``
  skips that fetch, ``--page-uncached`` makes ``GET /`` run the app every time.  ``edge_cache``
  in the JSON counts the edge's hits and misses during the run.
- ``streams_opened`` (JSON): the daemon's ``vibed_streams_opened`` counter by kind/connection;
  in the keep-alive run every stream should be ``sse/reused`` (the stream came second on its
  connection and still took the hub's path).
- ``--wait-ms`` is ``sse_load -w``, the pause between "all up" (as the tool sees it) and the
  first event.  A stream registered after an event misses it; when that happened, a warning
  says so (raise ``--wait-ms``), since the tool then pairs later events with earlier triggers.
- ``--only peer-keepalive`` adds the peer with ``-K /api/health`` (it has no page), for the
  curious; the issue's yardstick is the peer on fresh connections.
- Ratios are vibed / peer (fresh) and vibed / floor (fresh to fresh, keep-alive to keep-alive)
  from the same run; figures move between runs, ratios much less.  The floor cannot say when its
  keep-alive streams were registered, so its keep-alive connect time is the tool's (a connection
  counts once its ``/api/health`` answer arrives; the floor writes the stream head in the same
  pass): vibed's keep-alive ratio compares vibed's own count with that, which can only flatter the
  floor.  ``tool_connect_s`` (the same definition for both) has its ratio too.
- ``--repeat N`` measures every selected server N times, round by round (so a busy machine weighs
  on each alike), and the table shows the median of each figure; each ratio is the median of the
  rounds' own ratios.
- Targets of issue 15 at 10,000 clients (printed, not asserted): p99 <= the peer's p99,
  <= 8 KiB per connection, all connected in <= 3 s, in both modes.  Targets of issue 19: connect
  <= 2x the floor's time (fresh and keep-alive), p99 <= 1.2x the floor's, <= 4 KiB per connection.

Not collected by pytest (tests/benchmarks is excluded in pyproject).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sidebyside import (  # noqa: E402
    KIT,
    PeakRss,
    build_sse_load,
    free_port,
    node_peer,
    raise_fd_limit,
    rss_kib,
    running,
    wait_port,
)

SERVER = Path(__file__).resolve().parent / "sse_server.py"
STREAM_PATH = "/api/new-releases/stream"


# -- one load run ---------------------------------------------------------------------------------
def fetch(port: int, path: str, timeout: float = 5.0) -> bytes:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        return conn.getresponse().read()
    finally:
        conn.close()


def get_json(port: int, path: str, timeout: float = 5.0) -> dict[str, Any]:
    return json.loads(fetch(port, path, timeout))


class PolledCount:
    """The server's own stream count, polled every 50 ms from a thread while the load runs (the
    peer, whose code is the kit's); ``finish()`` gives the most it counted, and no timestamp."""

    def __init__(self, port: int, path: str, key: str) -> None:
        self.port, self.path, self.key = port, path, key
        self.most = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _poll(self) -> None:
        while not self._done.wait(0.05):
            try:
                self.most = max(self.most, int(get_json(self.port, self.path)[self.key]))
            except (OSError, ValueError, http.client.HTTPException):
                continue  # a poll lost in a crowded accept queue: the next one tells

    def finish(self) -> tuple[int, float | None]:
        self._done.set()
        self._thread.join()
        return self.most, None


class ToolCount:
    """The floor counts nothing it could report: what it held is what ``sse_load`` saw streaming."""

    def start(self) -> None:
        pass

    def finish(self) -> tuple[int, float | None]:
        return -1, None


class WatchedCount:
    """vibed's bench server watches its own admission count every 10 ms; ``finish()`` gives the
    most it held and when (CLOCK_MONOTONIC, one clock for every process) that count was reached."""

    def __init__(self, port: int) -> None:
        self.port = port

    def start(self) -> None:
        get_json(self.port, "/_bench/stats?reset=1")

    def finish(self) -> tuple[int, float | None]:
        stats = get_json(self.port, "/_bench/stats")
        return int(stats["most"]), stats["most_at"]


def measure(label: str, binary: Path, port: int, pid: int, *, stream_path: str, trigger: str, count: Any,
            keepalive: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """One ``sse_load`` run; ``keepalive`` is the path of the request sent first on each connection."""
    time.sleep(0.5)  # let the server settle before "before"
    before = rss_kib(pid)
    command = [str(binary), "-p", str(port), "-P", stream_path, "-n", str(args.clients), "-e", str(args.events),
               "-T", trigger, "-w", str(args.wait_ms), "-t", str(int(args.timeout))]
    if keepalive:
        command += ["-K", keepalive]
    print(f"[{label}] $ {' '.join(command)}", flush=True)
    count.start()
    peak = PeakRss(pid)
    started = time.monotonic()
    load = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = load.communicate(timeout=args.timeout + 60)
    finally:
        if load.poll() is None:
            load.kill()
            load.wait()
        ended = time.monotonic()
        peak_kib = peak.stop()
    held, held_at = count.finish()
    report = json.loads(out.strip().splitlines()[-1])
    if held < 0:  # ToolCount
        held = report["streaming"]
    events = report["events"]
    timed = [e for e in events if e.get("got")]
    failed_triggers = [line for line in err.splitlines() if line.startswith("trigger") and not line.endswith("200")]
    server_connect_s = None if held_at is None else held_at - started
    # with -K the tool counts a connection once GET / is answered: only the server knows "streaming"
    # (the peer cannot say when; there the tool's figure, a lower bound, stands)
    connect_s = server_connect_s if keepalive and server_connect_s is not None else report["connect_ms"] / 1000
    result = {
        "label": label, "keepalive": keepalive is not None, "asked": args.clients, "held": held,
        "tool_streaming": report["streaming"], "tool_dead": report["dead"],
        "connect_s": None if connect_s is None else round(connect_s, 2),
        "tool_connect_s": round(report["connect_ms"] / 1000, 2),
        "server_connect_s": None if server_connect_s is None else round(server_connect_s, 2),
        "events": len(events), "events_ok": sum(1 for e in events if e.get("got", 0) >= held > 0),
        "p50_ms": round(statistics.median(e["p50_ms"] for e in timed), 1) if timed else None,
        "p99_ms": round(statistics.median(e["p99_ms"] for e in timed), 1) if timed else None,
        "p100_ms": round(statistics.median(e["p100_ms"] for e in timed), 1) if timed else None,
        "worst_event_p99_ms": max((e["p99_ms"] for e in timed), default=None),
        # all up: the first sample after the last stream registered; end: the last one before the
        # tool left (every stream held, every event sent); they tell a transient peak from a lasting cost
        "rss_kib": {"before": before, "peak": peak_kib, "all_up": None if held_at is None else peak.after(held_at),
                    "end": peak.before(ended - 0.1)},
        "kib_per_conn": round((peak_kib - before) / held, 2) if held else None,
        "failed_triggers": len(failed_triggers),
    }
    end_kib = result["rss_kib"]["end"]
    result["kib_per_conn_end"] = round((end_kib - before) / held, 2) if held and end_kib else None
    first_trigger_s = report["connect_ms"] / 1000 + args.wait_ms / 1000
    if result["events_ok"] < len(events) and server_connect_s is not None and server_connect_s > first_trigger_s:
        result["warning"] = (f"the last stream was registered {server_connect_s:.2f} s after the start, after the "
                             f"first trigger (~{first_trigger_s:.2f} s): raise --wait-ms")
    print(f"[{label}] {json.dumps(result)}", flush=True)
    return result


# -- the servers ----------------------------------------------------------------------------------
def run_peer(binary: Path, keepalive: bool, args: argparse.Namespace) -> dict[str, Any]:
    home = node_peer("express_sse")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "NODE_ENV": "production"}
    # the peer has no page: its one other GET, /api/health, goes first on the connection
    label = "express peer, keep-alive (-K /api/health)" if keepalive else "express peer, fresh"
    with running(["node", "server.js"], cwd=home, env=env, stdout=subprocess.DEVNULL) as node:
        wait_port(port, node)
        return measure(label, binary, port, node.pid, stream_path="/events",
                       trigger="POST /publish", count=PolledCount(port, "/api/health", "clients"),
                       keepalive="/api/health" if keepalive else None, args=args)


def build_floor(tmp: Path) -> Path:
    """``cc -O2`` of the kit's C floor into ``tmp``."""
    source = KIT / "peers" / "c_sse" / "c_sse.c"
    if not source.exists():
        raise SystemExit(f"the C floor is missing: {source} (set VIBED_BENCH_KIT to the kit's folder)")
    binary = tmp / "c_sse"
    subprocess.run(["cc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def run_floor(binary: Path, floor: Path, keepalive: bool, args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    label = "C floor, keep-alive (-K /api/health)" if keepalive else "C floor, fresh"
    with running([str(floor), str(port)], stdout=subprocess.DEVNULL) as server:
        wait_port(port, server)
        return measure(label, binary, port, server.pid, stream_path="/events", trigger="POST /publish",
                       count=ToolCount(), keepalive="/api/health" if keepalive else None, args=args)


def vibed_server(max_streams: int, args: argparse.Namespace) -> Any:
    flags = ["--page-uncached"] if args.page_uncached else []
    return running([sys.executable, str(SERVER), "--max-streams", str(max_streams),
                    *flags],
                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


def run_vibed(binary: Path, keepalive: bool, args: argparse.Namespace) -> dict[str, Any]:
    label = "vibed, keep-alive (-K /)" if keepalive else "vibed, fresh"
    with vibed_server(args.max_streams, args) as server:
        port = json.loads(server.stdout.readline())["port"]
        if keepalive and not args.page_cold:
            fetch(port, "/")  # an earlier visitor's: the edge holds the page when the crowd arrives
        result = measure(label, binary, port, server.pid, stream_path=STREAM_PATH, trigger="POST /_bench/publish",
                         count=WatchedCount(port), keepalive="/" if keepalive else None, args=args)
        stats = get_json(port, "/_bench/stats")
        result["streams_opened"] = stats["opened"]  # kind/connection: count
        result["edge_cache"] = stats["edge_cache"]  # GET / from the edge's memory, or the app's
        return result


def run_overflow(binary: Path, args: argparse.Namespace) -> dict[str, Any]:
    limit = args.max_streams or args.clients
    with vibed_server(limit, args) as server:
        port = json.loads(server.stdout.readline())["port"]
        hold = [str(binary), "-p", str(port), "-P", STREAM_PATH, "-n", str(limit), "-e", "1",
                "-t", str(int(args.timeout))]  # no trigger: holds until -t or until it is stopped
        print(f"[overflow] holding {limit}: $ {' '.join(hold)}", flush=True)
        started = time.monotonic()
        with running(hold, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL):
            held = 0
            while time.monotonic() - started < args.timeout:
                held = int(get_json(port, "/_bench/stats")["streams"])
                if held >= limit:
                    break
                time.sleep(0.1)
            held_s = time.monotonic() - started
            fresh = probe_overflow(port, args.overflow, keepalive=False)
            kept = probe_overflow(port, args.overflow, keepalive=True)
            held_after = int(get_json(port, "/_bench/stats")["streams"])
    result = {"max_streams": limit, "held": held, "held_in_s": round(held_s, 2), "held_after": held_after,
              "fresh": fresh, "keepalive": kept}
    print(f"[overflow] {json.dumps(result)}", flush=True)
    return result


def probe_overflow(port: int, extra: int, *, keepalive: bool) -> dict[str, Any]:
    """``extra`` stream requests past the limit, 200 at a time; tally (status, has Retry-After)."""
    import h11
    import trio

    tally: dict[str, int] = {}

    async def one(limiter: trio.CapacityLimiter) -> None:
        async with limiter:
            key = "no answer"
            with trio.move_on_after(10):
                try:
                    key = await ask()
                except (OSError, trio.BrokenResourceError, h11.ProtocolError) as exc:
                    key = type(exc).__name__
            tally[key] = tally.get(key, 0) + 1

    async def ask() -> str:
        conn = h11.Connection(h11.CLIENT)
        out = b""
        if keepalive:
            out += conn.send(h11.Request(method="GET", target="/", headers=[("Host", "bench")]))
            out += conn.send(h11.EndOfMessage())
        stream_request = h11.Request(method="GET", target=STREAM_PATH,
                                     headers=[("Host", "bench"), ("Accept", "text/event-stream")])
        async with await trio.open_tcp_stream("127.0.0.1", port) as stream:
            if keepalive:
                await stream.send_all(out)
                if (first := await next_response(conn, stream)) != 200:
                    return f"page {first}"
                conn.start_next_cycle()
                await stream.send_all(conn.send(stream_request) + conn.send(h11.EndOfMessage()))
            else:
                await stream.send_all(conn.send(stream_request) + conn.send(h11.EndOfMessage()))
            response = await next_response(conn, stream, want_head=True)
            retry = " +Retry-After" if any(name.lower() == b"retry-after" for name, _ in response.headers) else ""
            if response.status_code == 200:
                return "200 (a stream)"
            body = b""
            while not isinstance(event := await next_event(conn, stream), h11.EndOfMessage | h11.ConnectionClosed):
                body += bytes(event.data) if isinstance(event, h11.Data) else b""
            try:
                error = json.loads(body).get("error")
            except ValueError:
                error = "not JSON"
            return f"{response.status_code}{retry} {error!r}"

    async def next_event(conn: h11.Connection, stream: Any) -> Any:
        while (event := conn.next_event()) is h11.NEED_DATA:
            conn.receive_data(await stream.receive_some(65536))
        return event

    async def next_response(conn: h11.Connection, stream: Any, *, want_head: bool = False) -> Any:
        head = None
        while True:
            event = await next_event(conn, stream)
            if isinstance(event, h11.Response):
                head = event
                if want_head:
                    return head
            if isinstance(event, h11.EndOfMessage | h11.ConnectionClosed):
                return head.status_code if head is not None else None

    async def main() -> None:
        limiter = trio.CapacityLimiter(200)
        async with trio.open_nursery() as nursery:
            for _ in range(extra):
                nursery.start_soon(one, limiter)

    trio.run(main)
    return tally


# -- the report -----------------------------------------------------------------------------------
def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


FIGURES = ("held", "connect_s", "tool_connect_s", "p50_ms", "p99_ms", "p100_ms", "kib_per_conn", "kib_per_conn_end")
FLOOR_OF = {"vibed, fresh": "C floor, fresh", "vibed, keep-alive (-K /)": "C floor, keep-alive (-K /api/health)"}


def median_run(label: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One row for ``label``: the median of each figure over the rounds."""
    out: dict[str, Any] = {"label": label, "rounds": len(runs)}
    for key in FIGURES:
        values = [r[key] for r in runs if r.get(key) is not None]
        out[key] = round(statistics.median(values), 2) if values else None
    out["events_ok"] = sum(r["events_ok"] for r in runs)
    out["events"] = sum(r["events"] for r in runs)
    out["warning"] = "; ".join(r["warning"] for r in runs if r.get("warning")) or None
    return out


def floor_ratios(rounds: list[list[dict[str, Any]]], label: str) -> dict[str, float | None] | None:
    """vibed / floor for each figure, in each round against that round's floor; the median."""
    pairs = [(v, f) for one in rounds for v in one if v["label"] == label for f in one if f["label"] == FLOOR_OF[label]]
    if not pairs:
        return None
    out: dict[str, float | None] = {}
    for key in ("connect_s", "tool_connect_s", "p50_ms", "p99_ms", "kib_per_conn"):
        values = [q for v, f in pairs if (q := ratio(v[key], f[key])) is not None]
        out[key] = round(statistics.median(values), 2) if values else None
    return out


def report(rounds: list[list[dict[str, Any]]], overflow: dict[str, Any] | None, args: argparse.Namespace) -> None:
    print()
    runs = [r for one in rounds for r in one]
    if not runs:
        if overflow is not None:
            print(f"overflow: held {overflow['held']}/{overflow['max_streams']} (still {overflow['held_after']}"
                  f" after); {args.overflow} more on fresh connections -> {overflow['fresh']};"
                  f" {args.overflow} more after GET / on keep-alive -> {overflow['keepalive']}")
        print(json.dumps({"benchmark": "sse_fanout", "clients": args.clients, "overflow": overflow}))
        return
    page = ("runs the app each time" if args.page_uncached else "marked edge-cacheable, as the product's page"
            + (", cold" if args.page_cold else ", fetched once before the crowd"))
    rows = {label: median_run(label, [r for r in runs if r["label"] == label])
            for label in dict.fromkeys(r["label"] for r in runs)}
    print(f"SSE fan-out, {args.clients} clients asked, {args.events} events (sse_load -w {args.wait_ms}), "
          f"{len(rounds)} round(s), medians; vibed's GET / {page}")
    cols = ("held", "connect_s", "p50_ms", "p99_ms", "p100_ms", "kib_per_conn", "kib_per_conn_end", "events_ok")
    width = {c: max(13, len(c) + 2) for c in cols}
    print(f"{'server, path':44}" + "".join(f"{c:>{width[c]}}" for c in cols))
    for r in rows.values():
        cells = [r[c] if c != "events_ok" else f"{r['events_ok']}/{r['events']}" for c in cols]
        print(f"{r['label']:44}" + "".join(f"{'-' if v is None else v!s:>{width[c]}}" for c, v in zip(cols, cells,
                                                                                                    strict=True)))
        if r.get("warning"):
            print(f"  ! {r['warning']}")
    peer = rows.get("express peer, fresh")  # issue 15's yardstick
    ratios: dict[str, Any] = {}
    for label, r in rows.items():
        if not label.startswith("vibed"):
            continue
        if peer is not None:
            ratios[f"{label} / peer"] = {k: ratio(r[k], peer[k]) for k in ("p50_ms", "p99_ms", "kib_per_conn",
                                                                          "connect_s")}
        to_floor = floor_ratios(rounds, label)  # issue 19's yardstick
        if to_floor is not None:
            ratios[f"{label} / floor"] = to_floor
    for name, values in ratios.items():
        print(f"{name:42} " + "  ".join(f"{k} x{v}" for k, v in values.items()))
    targets = {}
    for label, r in rows.items():
        if not label.startswith("vibed"):
            continue
        to_floor = ratios.get(f"{label} / floor", {})
        targets[label] = {
            "connect<=2x floor": None if to_floor.get("connect_s") is None else to_floor["connect_s"] <= 2,
            "p99<=1.2x floor": None if to_floor.get("p99_ms") is None else to_floor["p99_ms"] <= 1.2,
            "<=4KiB/conn": None if r["kib_per_conn"] is None else r["kib_per_conn"] <= 4,
            "p99<=peer": None if peer is None or r["p99_ms"] is None else r["p99_ms"] <= peer["p99_ms"],
        }
        print(f"targets (meant at 10,000 clients), {label}: {targets[label]}")
    if overflow is not None:
        print(f"overflow: held {overflow['held']}/{overflow['max_streams']} (still {overflow['held_after']} after);"
              f" {args.overflow} more on fresh connections -> {overflow['fresh']};"
              f" {args.overflow} more after GET / on keep-alive -> {overflow['keepalive']}")
    print(json.dumps({"benchmark": "sse_fanout", "clients": args.clients, "events": args.events,
                      "rounds": len(rounds), "medians": list(rows.values()), "runs": runs, "ratios": ratios,
                      "targets": targets, "overflow": overflow}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--events", type=int, default=30)
    p.add_argument("--wait-ms", type=int, default=1000, help="sse_load -w: pause after all are up, before event 1")
    p.add_argument("--timeout", type=float, default=120.0, help="sse_load -t, seconds")
    p.add_argument("--only", default="peer,floor,fresh,keepalive",
                   help="which of peer,peer-keepalive,floor (fresh and keep-alive),fresh,keepalive to measure "
                        "('none': only --overflow)")
    p.add_argument("--repeat", type=int, default=1, help="rounds; the table shows medians")
    p.add_argument("--overflow", type=int, default=0, help="extra stream requests past max_streams (expect 503)")
    p.add_argument("--max-streams", type=int, default=0, help="server max_streams (0 = fd limit; "
                   "with --overflow, 0 = --clients)")
    p.add_argument("--page-uncached", action="store_true", help="GET / runs the app every time (by default it "
                   "is marked cacheable at the edge, as the product's live page is)")
    p.add_argument("--page-cold", action="store_true", help="no GET / before the keep-alive crowd: every "
                   "first GET / of the burst misses the edge cache (a key never held is not single-flight)")
    args = p.parse_args()
    hard = raise_fd_limit()
    if args.clients + 100 > hard:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below --clients {args.clients} + 100")
    only = set(args.only.split(","))
    rounds: list[list[dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="vibed-sse-") as tmp:
        binary = build_sse_load(Path(tmp))
        floor = build_floor(Path(tmp)) if "floor" in only else None
        for n in range(args.repeat):
            if args.repeat > 1:
                print(f"== round {n + 1} of {args.repeat}", flush=True)
            runs = []
            if "peer" in only:
                runs.append(run_peer(binary, False, args))
            if "peer-keepalive" in only:
                runs.append(run_peer(binary, True, args))
            if floor is not None:
                runs.append(run_floor(binary, floor, False, args))
            if "fresh" in only:
                runs.append(run_vibed(binary, False, args))
            if floor is not None:
                runs.append(run_floor(binary, floor, True, args))
            if "keepalive" in only:
                runs.append(run_vibed(binary, True, args))
            rounds.append(runs)
        overflow = run_overflow(binary, args) if args.overflow else None
    report(rounds, overflow, args)


if __name__ == "__main__":
    main()
