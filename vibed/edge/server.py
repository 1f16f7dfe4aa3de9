"""``serve_http``: the listening socket, the accept loop, and the shutdown of every connection.

    port = await nursery.start(partial(serve_http, delivery, app, config, host=..., port=...,
                                       shutdown=stop, grace=3.0, metrics=metrics))

A new connection is refused unread (a raw 503, then closed) when it would eat into the descriptors
kept for the daemon itself.  One whose peer already holds ``VIBED_CONNECTIONS_PER_PEER`` connections
(peers.py) is refused from its request line: 429, or a 200 that ends at once for an SSE stream
(crowd.py).

On shutdown: stop accepting, let frames in flight reach their stream clients (within ``grace``),
end every stream cleanly, then give ordinary requests in progress the rest of ``grace``.
"""

from __future__ import annotations

import errno
import math
import os
import socket
from collections.abc import Callable
from typing import Any

import attrs
import trio
from hypercorn.typing import ASGIFramework

from vibed.config import Config
from vibed.delivery.admission import fd_stream_limit
from vibed.delivery.service import Delivery
from vibed.delivery.sse import RETRY_AFTER
from vibed.edge.arrivals import Arrivals
from vibed.edge.asgi import hypercorn_config, open_app_bridge
from vibed.edge.cache import EdgeCache
from vibed.edge.connection import DEFAULT_TIMEOUTS, Timeouts
from vibed.edge.crowd import REFUSED
from vibed.edge.guard import Guard
from vibed.edge.respond import error_body
from vibed.edge.router import DirectReads, Router
from vibed.logs import get_logger
from vibed.metrics import Metrics
from vibed.vocab.client_ip import limit_key

log = get_logger("vibed.edge")
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# written without parsing when not even one descriptor is left to read a request with
_SHED_BODY = error_body("too_many_streams", "no file descriptor is left; try again")
_SHED = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\nContent-Type: application/json\r\n"
         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (RETRY_AFTER.encode(), len(_SHED_BODY), _SHED_BODY))


def _shed_nowait(sock: socket.socket, answer: bytes = _SHED) -> None:
    """503 (or ``answer``) to a client we cannot take, without reading its request, and close."""
    try:
        sock.setblocking(False)
        sock.send(answer)
        # a request already received but left unread would make close() send RST, and the client's
        # kernel would throw the 503 away: read what is there (one request's worth) and drop it
        sock.recv(65536)
    except OSError:
        pass
    sock.close()


def open_listen_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # every accepted socket inherits it (Linux)
    sock.bind(addr)
    sock.listen(backlog)  # the kernel caps it at net.core.somaxconn
    sock.setblocking(False)
    return sock


CROWD_LOG_EVERY_S = 30.0
OUTBOUND_RESERVE = 100  # descriptors no client may take: the database pool, Redis, upstream fetches


@attrs.define(eq=False)
class Acceptor:
    router: Router
    # Linux hands out the lowest free descriptor, so a new socket's number says how many are open
    fd_ceiling: int = attrs.field(factory=lambda: fd_stream_limit(OUTBOUND_RESERVE))
    _spare_fd: int = attrs.field(factory=lambda: os.open(os.devnull, os.O_RDONLY))
    _crowded: int = 0  # connections refused to crowding peers since the last log line
    _crowd_log_at: float = -math.inf

    async def serve_accepting(self, listener: socket.socket, connections: trio.Nursery) -> None:
        """Accept until cancelled, in batches; each connection goes to ``Arrivals``, which serves
        what needs no wait at once and gives a task (in ``connections``) only to what does."""
        async with trio.open_nursery() as nursery:
            arrivals = Arrivals(self.router, connections, self._give_back)
            nursery.start_soon(arrivals.serve)
            await self._accept(listener, arrivals)

    async def _accept(self, listener: socket.socket, arrivals: Arrivals) -> None:
        # listener.accept() converts the family and type to enums for every socket: once is enough
        family, kind, proto = listener.family, listener.type, listener.proto
        while True:
            await trio.lowlevel.wait_readable(listener)
            now = trio.current_time()
            for _ in range(512):  # a batch per wake-up, then let the other tasks run
                try:
                    fd, addr = listener._accept()  # type: ignore[attr-defined]  # what accept() wraps
                    sock = socket.socket(family, kind, proto, fd)
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno in _OUT_OF_FDS:
                        await self._shed(listener)
                        break
                    if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                        continue  # the peer left while queued
                    raise
                if sock.fileno() >= self.fd_ceiling:  # keep the reserve for the daemon's own connections
                    _shed_nowait(sock)
                    continue
                guard = self.router.guard
                key = guard.peers.take_nowait(str(addr[0]), guard.trusted)  # peers.py
                if key is None:  # over its peer's cap: told so from its request line (crowd.py), or unread
                    self._crowd_refused_nowait(str(addr[0]))
                    if not arrivals.turn_away_nowait(sock, addr[:2], now):
                        _shed_nowait(sock, REFUSED)
                    continue
                sock.setblocking(False)  # TCP_NODELAY: the listener's
                arrivals.arrive_nowait(sock, addr[:2], key, now)

    def _crowd_refused_nowait(self, peer: str) -> None:
        """A log line per ``CROWD_LOG_EVERY_S`` at most, however many are refused: the peer last
        refused, and how many connections were refused since the last line."""
        self._crowded += 1
        now = trio.current_time()
        if now >= self._crowd_log_at:
            log.warning("connection_refused", reason="too many connections from one peer", peer=limit_key(peer),
                        refused=self._crowded, limit=self.router.guard.peers.limit)
            self._crowded, self._crowd_log_at = 0, now + CROWD_LOG_EVERY_S

    def _give_back(self, key: str) -> None:
        self.router.guard.peers.give_back_nowait(key)

    async def _shed(self, listener: socket.socket) -> None:
        """Out of descriptors: free the spare, answer one queued client 503, take the spare back."""
        os.close(self._spare_fd)
        try:
            _shed_nowait(listener.accept()[0])
        except OSError:
            pass
        finally:
            self._spare_fd = os.open(os.devnull, os.O_RDONLY)
        log.warning("stream_refused", reason="out of file descriptors")
        await trio.sleep(0.05)  # let streams end before the next try instead of spinning

    def close(self) -> None:
        os.close(self._spare_fd)


async def serve_edge(router: Router, host: str, port: int, *, shutdown: trio.Event, grace: float = 5.0,
                     task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """Serve until ``shutdown`` is set, then drain within ``grace``; ``task_status.started(port)``
    with the bound port (0 = a free one)."""
    listener = open_listen_socket(host, port)
    acceptor = Acceptor(router)
    hub = router.hub
    try:
        async with trio.open_nursery() as connections:
            async with trio.open_nursery() as accepting:
                accepting.start_soon(acceptor.serve_accepting, listener, connections)
                task_status.started(listener.getsockname()[1])
                await shutdown.wait()
                accepting.cancel_scope.cancel()
                router.close_idle_nowait()
            with trio.move_on_after(grace):  # frames in flight reach their clients
                await hub.drain()
            hub.close_all_nowait()
            connections.cancel_scope.deadline = trio.current_time() + grace
    finally:
        acceptor.close()
        trio.lowlevel.notify_closing(listener)
        listener.close()


def metric_hooks(metrics: Metrics) -> tuple[Callable[[str, bool], None], Callable[[str, int], None]]:
    """Counters for the router, each labelled child looked up once (``labels`` is not free)."""
    children: dict[tuple[str, int], Any] = {}
    opened: dict[tuple[str, bool], Any] = {}

    def on_stream(kind: str, reused: bool) -> None:
        child = opened.get((kind, reused))
        if child is None:
            child = opened[(kind, reused)] = metrics.streams.labels(kind, "reused" if reused else "fresh")
        child.inc()

    def on_answer(route: str, status: int) -> None:
        child = children.get((route, status))
        if child is None:
            child = children[(route, status)] = metrics.http.labels(route, str(status))
        child.inc()

    return on_stream, on_answer


async def serve_http(delivery: Delivery, app: ASGIFramework, config: Config, *, host: str, port: int, shutdown: trio.Event,
                     grace: float = 5.0, metrics: Metrics | None = None, cache: EdgeCache | None = None,
                     guard: Guard | None = None, timeouts: Timeouts = DEFAULT_TIMEOUTS,
                     direct: DirectReads | None = None,
                     task_status: trio.TaskStatus[int] = trio.TASK_STATUS_IGNORED) -> None:
    """The whole HTTP side of one instance: the app behind Hypercorn's request handling, the
    guard, the edge cache and the streams of ``delivery``; ``task_status.started(port)``."""
    guard = guard or Guard.from_config(config)
    cache = cache or EdgeCache(lambda: delivery.sequencer.last_id)
    try:
        async with open_app_bridge(app, hypercorn_config(grace)) as bridge:
            router = Router(delivery.hub, delivery.replayer, delivery.settings, bridge, cache, guard, timeouts,
                            direct=direct)
            if metrics is not None:
                router.on_stream, router.on_answer = metric_hooks(metrics)
            await serve_edge(router, host, port, shutdown=shutdown, grace=grace, task_status=task_status)
    finally:
        with trio.CancelScope(shield=True):
            await guard.aclose()
