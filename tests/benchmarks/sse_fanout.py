"""SSE fan-out benchmark: N real SSE connections against the gateway + hub, latency and memory.

    python tests/benchmarks/sse_fanout.py --clients 10000 --events 40
    python tests/benchmarks/sse_fanout.py --clients 19000 --events 40 --overflow 1000

Three kinds of process, all on 127.0.0.1 (each raises RLIMIT_NOFILE soft to hard):
- the **server**: the real gateway (``Delivery.serve_gateway``) and hub, in its own process so
  its RSS is its own.  Events are triggered through the gateway's Hypercorn path
  (``POST /_bench/publish`` on a tiny Quart-Trio app) and go into ``Sequencer.deliver`` — the
  broadcaster's path into the hub — stamped with ``time.monotonic()`` (one clock machine-wide).
  No database and no upstream: the writer and ``vibed run --simulate`` are not part of this.
- **clients** (``--procs`` of them): raw non-blocking sockets on one ``select.epoll`` each.
- the **orchestrator** (this process without flags): starts them, reads /proc/<pid>/status,
  triggers ``--events`` events ``--interval`` apart, and prints the figures.

Latency of an event = arrival on the *last* connection that got it − publish time; p50/p99 are
over events.  Not collected by pytest (tests/benchmarks is excluded in pyproject).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import select
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def raise_fd_limit() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


# -- server --------------------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> None:
    sys.path.insert(0, ROOT)
    import trio
    from quart_trio import QuartTrio

    from vibed.delivery.admission import Admission
    from vibed.delivery.bus import Broadcaster
    from vibed.delivery.hub import Hub
    from vibed.delivery.sequencer import Sequencer
    from vibed.delivery.service import Delivery
    from vibed.delivery.sse import StreamSettings
    from vibed.messages import StoredEvent

    raise_fd_limit()
    hub = Hub(Admission.from_config(args.max_streams, 0), heartbeat=15.0, backlog=256)
    sequencer = Sequencer(hub, None)  # type: ignore[arg-type]  # ids arrive gap-free: no database read
    delivery = Delivery(hub, sequencer, Broadcaster(sequencer), None, None, StreamSettings())  # type: ignore[arg-type]
    app = QuartTrio("bench")
    counter = iter(range(1, 10**9))

    @app.post("/_bench/publish")
    async def publish():  # type: ignore[no-untyped-def]
        n = next(counter)
        payload = {"id": n, "source": "jiosaavn", "external_id": f"x{n}", "kind": "album",
                   "title": f"Benchmark release {n}", "artists": ["Artist One", "Artist Two"],
                   "album": None, "language": "ml", "release_date": "2026-11-28", "year": 2026,
                   "image": "https://c.saavncdn.com/123/x-500x500.jpg", "url": "https://www.jiosaavn.com/album/x",
                   "explicit": False, "first_seen": "2026-11-28T19:00:00.000Z", "t": time.monotonic()}
        event = StoredEvent(id=n, kind="new_release", release_id=n, source="jiosaavn", language="ml",
                            release_kind="album", payload=payload)
        started = time.perf_counter()
        await sequencer.deliver((event,))
        return {"id": n, "fanout_ms": (time.perf_counter() - started) * 1000}

    @app.get("/_bench/stats")
    async def stats():  # type: ignore[no-untyped-def]
        s = hub.statistics()
        return {"sse_clients": s.sse_clients, "slow_drops": s.slow_drops, "max": hub.admission.max_streams}

    async def main() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.serve)
            port = await nursery.start(lambda task_status: delivery.serve_gateway(
                app, "127.0.0.1", 0, shutdown=trio.Event(), grace=1.0, task_status=task_status))
            print(json.dumps({"port": port}), flush=True)
            await trio.to_thread.run_sync(sys.stdin.read)  # until the orchestrator closes our stdin
            nursery.cancel_scope.cancel()

    trio.run(main)


# -- client --------------------------------------------------------------------------------------
_ID = re.compile(rb"\nid: (\d+)\n|^id: (\d+)\n")
_T = re.compile(rb'"t":([0-9.]+)')


def client(args: argparse.Namespace) -> None:
    raise_fd_limit()
    request = b"GET /api/new-releases/stream HTTP/1.1\r\nHost: bench\r\n\r\n"
    socks: dict[int, socket.socket] = {}
    statuses: dict[str, int] = {}
    pending_head: dict[int, bytes] = {}
    deadline = time.monotonic() + args.timeout
    for _ in range(args.client):
        s = socket.socket()
        try:
            s.settimeout(10)
            s.connect(("127.0.0.1", args.port))
            s.sendall(request)
        except OSError as exc:
            statuses[type(exc).__name__] = statuses.get(type(exc).__name__, 0) + 1
            s.close()
            continue
        s.setblocking(False)
        socks[s.fileno()] = s
        pending_head[s.fileno()] = b""
    ep = select.epoll()
    for fd in socks:
        ep.register(fd, select.EPOLLIN)
    open_fds: set[int] = set()
    while pending_head and time.monotonic() < deadline:  # response heads
        for fd, _ in ep.poll(1.0):
            if fd not in pending_head:
                continue
            data = pending_head[fd] + socks[fd].recv(65536)
            if b"\r\n\r\n" not in data and data:
                pending_head[fd] = data
                continue
            del pending_head[fd]
            status = data[9:12].decode() or "closed"
            statuses[status] = statuses.get(status, 0) + 1
            if status == "200":
                open_fds.add(fd)
    print(json.dumps({"statuses": statuses}), flush=True)
    want = args.events
    arrivals: dict[int, list[float]] = {}  # event id -> [count, latest arrival]
    sent_at: dict[int, float] = {}
    latencies: list[float] = []  # every (connection, event) pair, for the per-connection spread
    done = 0
    while want and time.monotonic() < deadline and done < len(open_fds):
        for fd, _ in ep.poll(1.0):
            if fd not in open_fds:
                continue
            now = time.monotonic()
            try:
                data = socks[fd].recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                ep.unregister(fd)
                open_fds.discard(fd)
                continue
            for m in _ID.finditer(data):
                eid = int(m.group(1) or m.group(2))
                if eid not in sent_at:
                    sent_at[eid] = float(_T.search(data, m.end()).group(1))  # type: ignore[union-attr]
                entry = arrivals.setdefault(eid, [0, 0.0])
                entry[0] += 1
                entry[1] = max(entry[1], now)
                latencies.append(now - sent_at[eid])
                if eid == want and entry[0] == len(open_fds):
                    done = len(open_fds)
    result = {"held": len(open_fds), "events": {eid: [c, last - sent_at[eid]] for eid, (c, last) in arrivals.items()},
              "conn_p50": statistics.median(latencies) if latencies else None,
              "conn_p99": statistics.quantiles(latencies, n=100)[98] if len(latencies) > 100 else None}
    print(json.dumps(result), flush=True)
    sys.stdin.read()  # hold the connections until the orchestrator is done measuring


# -- orchestrator --------------------------------------------------------------------------------
def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


def http_json(port: int, method: str, path: str) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, path)
    body = json.loads(conn.getresponse().read())
    conn.close()
    return body


def spawn(*flags: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, os.path.abspath(__file__), *flags], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)


def orchestrate(args: argparse.Namespace) -> None:
    raise_fd_limit()
    server = spawn("--serve", "--max-streams", str(args.max_streams))
    port = json.loads(server.stdout.readline())["port"]  # type: ignore[union-attr]
    time.sleep(0.5)
    rss_before = rss_kib(server.pid)
    shares = [args.clients // args.procs + (1 if i < args.clients % args.procs else 0) for i in range(args.procs)]
    started = time.monotonic()
    clients = [spawn("--client", str(n), "--port", str(port), "--events", str(args.events),
                     "--timeout", str(args.timeout)) for n in shares]
    heads = [json.loads(c.stdout.readline()) for c in clients]  # type: ignore[union-attr]
    connect_s = time.monotonic() - started
    expected = sum(h["statuses"].get("200", 0) for h in heads)
    for _ in range(100):  # bounded: 10 s for the hub to register the last ones
        if http_json(port, "GET", "/_bench/stats")["sse_clients"] >= expected:
            break
        time.sleep(0.1)
    time.sleep(1.0)
    rss_idle = rss_kib(server.pid)
    fanout_ms = []
    for _ in range(args.events):
        fanout_ms.append(http_json(port, "POST", "/_bench/publish")["fanout_ms"])
        time.sleep(args.interval)
    fanout_ms.sort()
    results = [json.loads(c.stdout.readline()) for c in clients]  # type: ignore[union-attr]
    overflow = None
    if args.overflow:
        extra = spawn("--client", str(args.overflow), "--port", str(port), "--events", "0", "--timeout", "30")
        overflow = json.loads(extra.stdout.readline())["statuses"]  # type: ignore[union-attr]
        extra.communicate("")
    stats = http_json(port, "GET", "/_bench/stats")
    rss_after = rss_kib(server.pid)
    for c in clients:
        c.communicate("")
    server.communicate("")
    last = [max(r["events"][str(i)][1] for r in results if str(i) in r["events"]) for i in range(1, args.events + 1)
            if all(str(i) in r["events"] for r in results)]
    delivered = [sum(r["events"].get(str(i), [0])[0] for r in results) for i in range(1, args.events + 1)]
    ms = sorted(x * 1000 for x in last)
    print(json.dumps({
        "clients_requested": args.clients, "held": sum(r["held"] for r in results), "statuses": heads,
        "connect_s": round(connect_s, 1), "events": args.events, "events_fully_delivered":
            sum(1 for d in delivered if d == expected),
        "last_client_ms": {"p50": round(statistics.median(ms), 1), "p99": round(ms[min(len(ms) - 1, int(len(ms) * .99))], 1),
                           "max": round(ms[-1], 1)} if ms else None,
        "server_fanout_ms": {"p50": round(statistics.median(fanout_ms), 1), "max": round(fanout_ms[-1], 1)},
        "per_connection_ms_p99": [round(r["conn_p99"] * 1000, 1) for r in results if r["conn_p99"]],
        "server_rss_kib": {"before": rss_before, "idle_connected": rss_idle, "after": rss_after},
        "rss_per_connection_bytes": round((rss_idle - rss_before) * 1024 / max(expected, 1)),
        "overflow_statuses": overflow, "server_stats": stats,
    }, indent=1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=10_000)
    p.add_argument("--procs", type=int, default=2, help="client processes")
    p.add_argument("--events", type=int, default=40)
    p.add_argument("--interval", type=float, default=0.25, help="seconds between events")
    p.add_argument("--overflow", type=int, default=0, help="extra connections opened at the end (expect 503s)")
    p.add_argument("--max-streams", type=int, default=0, help="server max_streams (0 = fd limit)")
    p.add_argument("--timeout", type=float, default=120.0)
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--client", type=int, default=0, help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve:
        serve(args)
    elif args.client:
        client(args)
    else:
        orchestrate(args)


if __name__ == "__main__":
    main()
