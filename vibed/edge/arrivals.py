"""New connections until their first request is whole: one epoll for all of them, no task each.

A crowd of streams arrives as connections that each carry one request the edge can answer without
waiting: a live SSE stream, perhaps pipelined behind a page the edge cache holds.  So an accepted
socket is read at once; when its bytes are not there yet, it waits in this module's own
``select.epoll`` (itself waited on by Trio, as the hub's hang-up watcher is).  Whole requests go
to ``Router.route_nowait``, in order, pipelined ones included.  Only a connection that has to wait
for something (its next request, the app, a replay from the database, a write the kernel did not
take, a refusal's lingering close) gets a task, which goes on from where this left it
(``serve_connection`` with its ``Wire`` and the rest of its current request).  Requests that came
together are answered in one segment (``TCP_CORK`` for the pass): a browser's page and its stream
cost the client one wake-up, not two.

A connection that sends nothing within ``timeouts.head`` is closed, as a task would close it, and
shutdown closes the ones still waiting.  Its slot in the per-peer count (``peers.py``, taken at
accept) is given back when it closes, when a stream owns it, or when its task ends.
"""

from __future__ import annotations

import contextlib
import math
import select
import socket
from collections.abc import Callable

import attrs
import h11
import trio

from vibed.edge.connection import Later, Router, next_cycle, next_head_nowait, refuse, serve_connection
from vibed.edge.crowd import AT_ONCE, turned_away
from vibed.edge.exchange import RequestHead, Wire
from vibed.edge.respond import Answer
from vibed.logs import get_logger
from vibed.vocab.wire import RECV_SIZE

log = get_logger("vibed.edge")
PIPELINE_NOWAIT = 8  # requests one connection may have answered here; the rest of a longer pipeline gets a task
_READABLE = select.EPOLLIN | select.EPOLLRDHUP


@attrs.frozen
class Waiting:
    sock: socket.socket
    peer: tuple[str, int]
    key: str | None  # its per-peer slot; None: over its peer's cap, to be turned away (crowd.py)
    deadline: float


@attrs.define(eq=False)
class Arrivals:
    router: Router
    connections: trio.Nursery  # where a connection that has to wait gets its task
    give_back: Callable[[str], None]  # a per-peer slot, by key: its connection ended or a stream owns it
    _epoll: select.epoll = attrs.field(factory=select.epoll)
    _waiting: dict[int, Waiting] = attrs.field(factory=dict)  # by fd; insertion order is deadline order
    _wait: trio.CancelScope = attrs.field(factory=trio.CancelScope)  # the watcher's, until the first deadline
    _turning: int = 0  # connections over their peer's cap waited on now

    def turn_away_nowait(self, sock: socket.socket, peer: tuple[str, int], now: float) -> bool:
        """A connection over its peer's cap, to be answered from its request line (crowd.py);
        False when ``crowd.AT_ONCE`` are waited on already (the caller refuses it unread)."""
        if self._turning >= AT_ONCE:
            return False
        self._turning += 1
        sock.setblocking(False)
        self.arrive_nowait(sock, peer, None, now)
        return True

    def arrive_nowait(self, sock: socket.socket, peer: tuple[str, int], key: str | None, now: float) -> None:
        """A new (non-blocking) connection, accepted at ``now``: served now if its request is here,
        else it waits."""
        if not self._serve_nowait(sock, peer, key):
            self._wait_nowait(Waiting(sock, peer, key, now + self.router.timeouts.head))

    def _wait_nowait(self, waiting: Waiting) -> None:
        self._epoll.register(waiting.sock.fileno(), _READABLE)
        self._waiting[waiting.sock.fileno()] = waiting
        if waiting.deadline < self._wait.deadline:  # only the first: the rest come later (the setter is not free)
            self._wait.deadline = waiting.deadline

    async def serve(self) -> None:
        """Serve waiting connections as their bytes come, until cancelled; then close the rest."""
        try:
            while True:
                deadline = next(iter(self._waiting.values())).deadline if self._waiting else math.inf
                with trio.CancelScope(deadline=deadline) as self._wait:
                    await trio.lowlevel.wait_readable(self._epoll.fileno())
                for fd, _mask in self._epoll.poll(0, 1024):
                    waiting = self._waiting.pop(fd)
                    self._epoll.unregister(fd)
                    if not self._serve_nowait(waiting.sock, waiting.peer, waiting.key):
                        self._wait_nowait(waiting)  # woken with nothing to read: it waits on
                now = trio.current_time()
                while self._waiting and (first := next(iter(self._waiting.values()))).deadline <= now:
                    del self._waiting[first.sock.fileno()]
                    self._close(first.sock, first.key)  # nothing arrived in time: the connection just ends
        finally:
            for waiting in self._waiting.values():
                self._close(waiting.sock, waiting.key)
            self._waiting.clear()
            self._epoll.close()

    def _close(self, sock: socket.socket, key: str | None) -> None:
        sock.close()
        if key is None:
            self._turning -= 1
        else:
            self.give_back(key)

    def _serve_nowait(self, sock: socket.socket, peer: tuple[str, int], key: str | None) -> bool:
        """False when there is nothing to read yet; True once the connection was served, handed to a
        task or closed."""
        try:
            data = sock.recv(RECV_SIZE)
        except BlockingIOError:
            return False
        except OSError:  # reset by the peer
            data = b""
        if not data or key is None:
            if data:  # one write of a few hundred bytes: what the kernel does not take is dropped
                with contextlib.suppress(OSError):
                    sock.send(turned_away(data))
            self._close(sock, key)
            return True
        tasked = False
        # requests that came together (a page and the stream behind it) are answered in one segment:
        # corked until this pass ends, then pushed, before any task or the hub writes again
        first_end = data.find(b"\r\n\r\n")
        corked = 0 <= first_end < len(data) - 4 and _cork(sock)
        try:
            tasked = self._requests_nowait(Wire(data), sock, peer, key)
        except OSError:  # the peer reset the connection while we wrote
            sock.close()
        except Exception as exc:  # one connection's failure must never take the edge down
            log.exception("connection_failed", error=str(exc)[:200])
            sock.close()
        finally:
            if corked:
                _uncork(sock)
            if not tasked:  # closed, or a stream owns it now
                self.give_back(key)
        return True

    def _requests_nowait(self, wire: Wire, sock: socket.socket, peer: tuple[str, int], key: str) -> bool:
        """Serve the requests that are whole, in order; True once a task took the connection over."""
        reused = False
        for _ in range(PIPELINE_NOWAIT):
            got = next_head_nowait(wire, sock, peer, reused)
            if got is h11.NEED_DATA:  # not whole yet, or nothing after an answer: its task reads on
                break
            if got is None:  # the client closed
                sock.close()
                return False
            if isinstance(got, Answer):
                self.connections.start_soon(self._refuse, wire.take_over(0), sock, got, key)
                return True
            assert isinstance(got, RequestHead)
            done = self.router.route_nowait(got)
            if not isinstance(done, bool):
                self.connections.start_soon(self._serve, sock, peer, wire, reused, done, key)
                return True
            if done:  # a stream owns the socket now
                return False
            if not next_cycle(wire):
                sock.close()
                return False
            reused = True
        self.connections.start_soon(self._serve, sock, peer, wire, reused, None, key)
        return True

    async def _serve(self, sock: socket.socket, peer: tuple[str, int], wire: Wire, reused: bool,
                     rest: Later | None, key: str) -> None:
        try:
            await serve_connection(self.router, sock, peer, wire, reused=reused, rest=rest)
        except Exception as exc:  # one connection's failure must never take the edge down
            log.exception("connection_failed", error=str(exc)[:200])
            sock.close()
        finally:
            self.give_back(key)

    async def _refuse(self, conn: h11.Connection, sock: socket.socket, answer: Answer, key: str) -> None:
        try:
            await refuse(conn, sock, answer, self.router.timeouts.write)
        finally:
            sock.close()
            self.give_back(key)


def _cork(sock: socket.socket) -> bool:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    except OSError:  # not TCP
        return False
    return True


def _uncork(sock: socket.socket) -> None:
    """Push what a corked pass wrote (the socket may be closed by now: then nothing is left to push)."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 0)
