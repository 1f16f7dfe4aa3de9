"""The edge's cost per admitted stream, in-process: no load generator sharing the CPU, no scheduler noise.

    .venv/bin/python tests/benchmarks/admission_inproc.py --clients 3000 [--keepalive] [--profile]

Per round: ``--clients`` loopback connections each send their request first (a stream; with
``--keepalive``, ``GET /`` pipelined before it, the page held at the edge), are accepted, and then the
timed part runs: each socket handed to ``Arrivals.arrive_nowait`` as the accept loop hands it (read,
route, register with the hub, write the head).  Prints the wall and CPU time per connection for each
round and the best round; ``--profile`` prints cProfile's top entries for the last round (its overhead
inflates small calls).  ``--syscalls`` times only what the kernel must do for each (set non-blocking,
read, register in an epoll, write a head) from Python, the part no Python change can remove.
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import resource
import select
import socket
import sys
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vibed.config import Config  # noqa: E402
from vibed.delivery.admission import Admission  # noqa: E402
from vibed.delivery.hub import Hub  # noqa: E402
from vibed.delivery.replay import Replayer  # noqa: E402
from vibed.delivery.sse import StreamSettings  # noqa: E402
from vibed.edge.arrivals import Arrivals  # noqa: E402
from vibed.edge.cache import MARK, EdgeCache  # noqa: E402
from vibed.edge.guard import Guard  # noqa: E402
from vibed.edge.respond import Answer  # noqa: E402
from vibed.edge.router import Router  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402

STREAM = b"GET /api/new-releases/stream HTTP/1.1\r\nHost: 127.0.0.1:5006\r\nAccept: text/event-stream\r\n\r\n"
PAGE = b"GET / HTTP/1.1\r\nHost: 127.0.0.1:5006\r\n\r\n"
BODY = b"<!doctype html><title>vibed bench</title><p>The page a browser loads before its EventSource.</p>\n"


def crowd(listener: socket.socket, n: int, request: bytes) -> tuple[list[socket.socket], list[tuple[socket.socket, tuple[str, int]]]]:
    clients, servers = [], []
    for _ in range(n):
        client = socket.create_connection(listener.getsockname())
        client.send(request)
        clients.append(client)
        fd, peer = listener._accept()  # type: ignore[attr-defined]
        servers.append((socket.socket(listener.family, listener.type, listener.proto, fd), peer[:2]))
    time.sleep(0.05)  # every request is in its server socket's buffer
    return clients, servers


async def edge(args: argparse.Namespace) -> list[float]:
    hub = Hub(Admission.from_config(0, 0))
    cache = EdgeCache(lambda: hub.ring.newest, ttl=1e9)
    config = Config(api_rate_limit=0, stream_limit_per_ip=0, connections_per_peer=0)
    router = Router(hub, Replayer(None, hub.ring), StreamSettings(), None, cache,  # type: ignore[arg-type]
                    Guard.from_config(config))
    fill = cache.begin_fill(b"/")  # the page, held as the app would have left it
    cache.end_fill(fill, Answer(200, ((b"content-type", b"text/html; charset=utf-8"),
                                      (b"content-length", b"%d" % len(BODY)), (MARK, b"1")), BODY), True, "/")
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    listener.setblocking(False)
    per_conn: list[float] = []
    async with trio.open_nursery() as nursery:
        await nursery.start(hub.serve)  # drops the streams of a round once its clients hang up
        arrivals = Arrivals(router, nursery, lambda key: None)
        for round_ in range(args.rounds):
            clients, servers = crowd(listener, args.clients, PAGE + STREAM if args.keepalive else STREAM)
            profile = cProfile.Profile() if args.profile and round_ == args.rounds - 1 else None
            now = trio.current_time()
            wall, cpu = time.perf_counter(), time.process_time()
            if profile:
                profile.enable()
            for sock, peer in servers:
                sock.setblocking(False)
                arrivals.arrive_nowait(sock, peer, "", now)
            if profile:
                profile.disable()
            wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
            assert hub.statistics().sse_clients == args.clients, hub.statistics()
            per_conn.append(wall / args.clients * 1e6)
            print(f"round {round_ + 1}: {per_conn[-1]:.1f} µs wall, {cpu / args.clients * 1e6:.1f} µs CPU per "
                  "connection", flush=True)
            for client in clients:
                client.close()
            while hub.statistics().sse_clients:
                await trio.sleep(0.05)
            if profile:
                pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        nursery.cancel_scope.cancel()
    return per_conn


def syscalls(args: argparse.Namespace) -> list[float]:
    head = b"HTTP/1.1 200 OK\r\n" + b"x-header: value\r\n" * 12 + b"\r\n" + b"e\r\nretry: 3000\n\n\r\n"
    listener = socket.create_server(("127.0.0.1", 0), backlog=4096)
    listener.setblocking(False)
    epoll = select.epoll()
    per_conn = []
    for _ in range(args.rounds):
        clients, servers = crowd(listener, args.clients, STREAM)
        wall = time.perf_counter()
        for sock, _peer in servers:
            sock.setblocking(False)
            sock.recv(65536)
            epoll.register(sock.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
            sock.sendmsg([head, b"e\r\nid: 5\n\n\r\n"])
        per_conn.append((time.perf_counter() - wall) / args.clients * 1e6)
        print(f"syscalls only: {per_conn[-1]:.1f} µs per connection", flush=True)
        for sock, _peer in servers:
            epoll.unregister(sock.fileno())
            sock.close()
        for client in clients:
            client.close()
    return per_conn


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--clients", type=int, default=3000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--keepalive", action="store_true", help="GET / pipelined before each stream")
    p.add_argument("--profile", action="store_true")
    p.add_argument("--syscalls", action="store_true", help="only the syscalls, from Python")
    args = p.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    configure_logging(stream=sys.stderr)
    per_conn = syscalls(args) if args.syscalls else trio.run(edge, args)
    print(json.dumps({"benchmark": "admission_inproc", "clients": args.clients, "keepalive": args.keepalive,
                      "syscalls_only": args.syscalls, "best_us_per_connection": round(min(per_conn), 1)}))


if __name__ == "__main__":
    main()
