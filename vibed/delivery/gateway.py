"""The gateway: one listening socket; SSE and WebSocket streams served here, the rest by Hypercorn.

Hypercorn never hands an application its socket, and the SSE hot path needs exactly that, so the
gateway accepts every connection itself, reads the request head (h11), and routes: stream paths
to ``serve_sse`` / ``serve_websocket``, anything else to Hypercorn with the bytes it already read.
"""

from __future__ import annotations

import errno
import os
import socket

import attrs
import trio

from vibed.delivery.asgi import HypercornHandoff
from vibed.delivery.hub import Hub
from vibed.delivery.sse import RETRY_AFTER, StreamSettings, serve_sse
from vibed.delivery.websocket import serve_websocket
from vibed.delivery.wire import read_head, replayed_stream
from vibed.logs import get_logger
from vibed.store.postgres import Database

log = get_logger("vibed.gateway")
STREAM_PATHS = frozenset({"/api/new-releases/stream", "/api/new-releases/events"})
WS_PATH = "/api/new-releases/ws"
_OUT_OF_FDS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
# answered without parsing when not even one descriptor is left to read a request with
_SHED_BODY = b'{"error": "too many streams", "detail": "no file descriptor is left"}'
_SHED = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: %s\r\nContent-Type: application/json\r\n"
         b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (RETRY_AFTER.encode(), len(_SHED_BODY), _SHED_BODY))


def open_listen_socket(host: str, port: int, backlog: int = 4096) -> socket.socket:
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(addr)
    sock.listen(backlog)  # the kernel caps it at net.core.somaxconn
    sock.setblocking(False)
    return sock


@attrs.define(eq=False)
class Gateway:
    hub: Hub
    db: Database
    settings: StreamSettings
    hypercorn: HypercornHandoff
    _spare_fd: int = attrs.field(factory=lambda: os.open(os.devnull, os.O_RDONLY))

    async def serve_accepting(self, listener: socket.socket, connections: trio.Nursery) -> None:
        """Accept until cancelled; each connection becomes a task until it is routed."""
        while True:
            await trio.lowlevel.wait_readable(listener)
            for _ in range(512):  # a batch per wake-up, then let the other tasks run
                try:
                    sock, addr = listener.accept()
                except BlockingIOError:
                    break
                except OSError as exc:
                    if exc.errno in _OUT_OF_FDS:
                        await self._shed(listener)
                        break
                    if exc.errno in (errno.ECONNABORTED, errno.EPROTO, errno.EPERM):
                        continue  # the peer left while queued
                    raise
                sock.setblocking(False)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connections.start_soon(self._route, sock, str(addr[0]))

    async def _shed(self, listener: socket.socket) -> None:
        """Out of descriptors: free the spare, answer one queued client 503, take the spare back."""
        os.close(self._spare_fd)
        try:
            sock, _ = listener.accept()
            try:
                sock.setblocking(False)
                sock.send(_SHED)
            except OSError:
                pass
            sock.close()
        except OSError:
            pass
        finally:
            self._spare_fd = os.open(os.devnull, os.O_RDONLY)
        log.warning("stream_refused", reason="out of file descriptors")
        await trio.sleep(0.05)  # let streams end before the next try instead of spinning

    async def _route(self, sock: socket.socket, ip: str) -> None:
        try:
            head = await read_head(sock)
            if head is None:
                sock.close()
            elif isinstance(head, bytes):  # not HTTP/1 as h11 sees it: Hypercorn says why
                await self.hypercorn.serve_connection(replayed_stream(sock, head))
            elif head.path in STREAM_PATHS and head.method == "GET":
                await serve_sse(self.hub, self.db, self.settings, sock, head, ip)
            elif head.path == WS_PATH and head.headers.get("upgrade", "").lower() == "websocket":
                await serve_websocket(self.hub, self.db, self.settings, sock, head, ip)
            else:
                await self.hypercorn.serve_connection(replayed_stream(sock, head.received))
        except Exception as exc:  # one connection's failure must never take the gateway down
            log.exception("connection_failed", error=str(exc)[:200])
            sock.close()

    def close(self) -> None:
        os.close(self._spare_fd)
