"""The hub: every open stream of this instance, and the one place a stored event fans out.

``publish_nowait`` encodes each event once and offers it to every client whose filter matches;
clients are grouped by filter, so matching costs one test per distinct filter, not per client.
SSE clients are raw sockets without a task (see ``client.py``); WebSocket clients are
``Listener``s fed through a bounded memory channel.  ``serve`` runs the few tasks the hub needs:
heartbeats, a hang-up watcher (one ``select.epoll`` over all client sockets, itself waited on by
Trio, so an idle client costs no task) and a flusher for each client whose kernel buffer is full.

A client that stops reading is dropped after ``stall_timeout`` even when nothing is published:
at each heartbeat the hub asks the kernel how many bytes still wait in the socket's send queue
(``SIOCOUTQ``); a queue that has not shrunk for ``stall_timeout`` seconds means the peer's window
stays shut.  The same bound applies to a flusher waiting for room.

A stream opened with ``watch=<id>`` is also held under that id: ``rewatch_nowait`` gives every such
stream the watch's new filter (from the next event on), or ends them when the watch is gone.
"""

from __future__ import annotations

import fcntl
import select
import termios
from collections.abc import Callable, Iterable, Sequence

import attrs
import trio

from vibed.delivery.admission import Admission
from vibed.delivery.client import DROP, NEEDS_FLUSH, SocketClient
from vibed.delivery.frames import DRAIN_RETRY_MS, Frame, event_frame, gone_frame, heartbeat_frame, retry_frame
from vibed.delivery.listener import Listener
from vibed.delivery.ring import RecentEvents
from vibed.logs import debug_on, get_logger
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

log = get_logger("vibed.delivery")
_HANGUP = select.EPOLLIN | select.EPOLLRDHUP | select.EPOLLHUP | select.EPOLLERR


@attrs.frozen
class HubStatistics:
    sse_clients: int
    ws_clients: int
    published: int
    slow_drops: int
    flushing: int


@attrs.define(eq=False)
class Hub:
    admission: Admission
    heartbeat: float = 15.0
    backlog: int = 256
    stall_timeout: float = 30.0
    published: int = 0
    slow_drops: int = 0
    flushing: int = 0
    closing: bool = False  # set by close_all_nowait: no new stream is taken after it
    _groups: dict[ReleaseFilter, dict[SocketClient, None]] = attrs.field(factory=dict)
    _by_fd: dict[int, SocketClient] = attrs.field(factory=dict)
    _listeners: dict[Listener, None] = attrs.field(factory=dict)
    _watching: dict[str, dict[SocketClient | Listener, None]] = attrs.field(factory=dict)  # by watch id
    _epoll: select.epoll = attrs.field(factory=select.epoll)
    _nursery: trio.Nursery | None = None
    _drained: trio.Event | None = None
    on_published: Callable[[Sequence[StoredEvent]], None] | None = None  # metrics: delivery latency
    on_watched: Callable[[SocketClient | Listener], None] | None = None  # a stream on a watch joined (watch_changes)
    ring: RecentEvents = attrs.field(factory=RecentEvents)  # every published frame, for replays

    def statistics(self) -> HubStatistics:
        return HubStatistics(len(self._by_fd), len(self._listeners), self.published, self.slow_drops,
                             self.flushing)

    # -- SSE clients ---------------------------------------------------------------------------
    def add_nowait(self, client: SocketClient) -> None:
        """Register a (paused) client: from now on it misses no frame."""
        self._groups.setdefault(client.filter, {})[client] = None
        self._watch_nowait(client)
        self._by_fd[client.sock.fileno()] = client
        self._epoll.register(client.sock.fileno(), _HANGUP)

    def resume_nowait(self, client: SocketClient, floor: int, first: Sequence[tuple[int, bytes]] = ()) -> None:
        """End of ``client``'s replay: ``first`` goes out, then what was published meanwhile."""
        self._after_write(client, client.resume(floor, first))

    def end_nowait(self, client: SocketClient, last: Frame, reason: str = "shutdown") -> None:
        """Write ``last`` (a ``retry:``) and the body's end if the socket takes them now, then drop."""
        if not client.closed and not client.pending:
            try:
                client.sock.send(last.wire(client.chunked) + (b"0\r\n\r\n" if client.chunked else b""))
            except OSError:
                pass
        self.drop_nowait(client, reason)

    def _ungroup(self, client: SocketClient) -> None:
        members = self._groups.get(client.filter)
        if members is not None:
            members.pop(client, None)
            if not members:
                del self._groups[client.filter]

    def drop_nowait(self, client: SocketClient, reason: str = "gone") -> None:
        if client.closed:
            return
        client.closed = True
        self._ungroup(client)
        self._unwatch_nowait(client)
        fd = client.sock.fileno()
        self._by_fd.pop(fd, None)
        try:
            self._epoll.unregister(fd)
        except OSError:
            pass
        if reason == "slow":
            self.slow_drops += 1
        trio.lowlevel.notify_closing(client.sock)  # wakes a flusher waiting on this fd
        client.sock.close()
        self.admission.release_nowait(client.ip)
        if debug_on("vibed.delivery"):
            log.debug("stream_closed", kind="sse", ip=client.ip, reason=reason)

    def _after_write(self, client: SocketClient, outcome: int) -> None:
        if outcome == DROP:
            self.drop_nowait(client, "slow" if client.pending else "gone")
        elif outcome == NEEDS_FLUSH and not client.flushing and self._nursery is not None:
            client.flushing = True
            self.flushing += 1
            self._nursery.start_soon(self._flush, client)

    def _offer_all(self, frame: Frame, members: Iterable[SocketClient]) -> None:
        outcomes = [(c, r) for c in members if (r := c.offer(frame))]
        for client, outcome in outcomes:  # after the loop: dropping mutates the group
            self._after_write(client, outcome)

    # -- WebSocket listeners -------------------------------------------------------------------
    def listen_nowait(self, listener: Listener) -> None:
        self._listeners[listener] = None
        self._watch_nowait(listener)
        if self.closing:
            self._end(listener, "shutdown")

    def unlisten_nowait(self, listener: Listener) -> None:
        self._listeners.pop(listener, None)
        self._unwatch_nowait(listener)

    # -- streams on a watch --------------------------------------------------------------------
    def _watch_nowait(self, stream: SocketClient | Listener) -> None:
        if stream.watch is not None:
            self._watching.setdefault(stream.watch, {})[stream] = None
            if self.on_watched is not None:
                self.on_watched(stream)

    def _unwatch_nowait(self, stream: SocketClient | Listener) -> None:
        held = self._watching.get(stream.watch) if stream.watch is not None else None
        if held is not None:
            held.pop(stream, None)
            if not held:
                del self._watching[stream.watch]  # type: ignore[arg-type]

    def watching(self, watch_id: str) -> int:
        """How many open streams of this instance hold ``watch_id``'s filter."""
        return len(self._watching.get(watch_id, ()))

    def watched(self) -> list[str]:
        """The ids of the watches this instance's open streams follow."""
        return list(self._watching)

    def rewatch_nowait(self, watch_id: str, flt: ReleaseFilter | None) -> int:
        """The streams holding ``watch_id`` take ``flt`` from the next event on (a WebSocket is sent a
        new ``subscribed`` first); None (the watch is gone) ends them: an SSE stream with a last comment
        and a spread ``retry:`` (its reconnection meets the 404), a WebSocket with a close.  A stream that
        holds ``flt`` already is left alone.  How many streams were reached."""
        held = [s for s in self._watching.get(watch_id, ()) if flt is None or s.filter != flt]
        for stream in held:
            if isinstance(stream, Listener):
                if flt is None:
                    self._end(stream, "watch_deleted")
                elif not stream.refilter(flt, self.ring.newest):
                    self.slow_drops += 1
                    self._end(stream, "slow")
            elif flt is None and stream.paused:  # its head may not be out yet: no last frame before it
                self.drop_nowait(stream, "watch_deleted")
            elif flt is None:
                self.end_nowait(stream, gone_frame("the watch was deleted", DRAIN_RETRY_MS), "watch_deleted")
            elif not stream.closed:
                self._ungroup(stream)
                stream.filter = flt
                self._groups.setdefault(flt, {})[stream] = None
        return len(held)

    def _end(self, listener: Listener, reason: str) -> None:
        self.unlisten_nowait(listener)
        listener.ended = reason
        listener.send.close()  # its task sees EndOfChannel and closes the WebSocket

    # -- fan-out -------------------------------------------------------------------------------
    def publish_nowait(self, events: Iterable[StoredEvent]) -> None:
        """Deliver events (already in id order, each once) to every matching client, now."""
        events = list(events)
        for event in events:
            self.published += 1
            frame = event_frame(event)
            self.ring.append_nowait(event, frame)
            for flt, members in list(self._groups.items()):
                if flt.matches(event):
                    self._offer_all(frame, members)
            for listener in [x for x in self._listeners if x.filter.matches(event)]:
                if not listener.offer(event):
                    self.slow_drops += 1
                    self._end(listener, "slow")  # its task sees EndOfChannel and closes the socket
        if self.on_published is not None and events:
            self.on_published(events)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Heartbeats, hang-up watching and flushers, until cancelled; then every stream is closed."""
        try:
            async with trio.open_nursery() as nursery:
                self._nursery = nursery
                nursery.start_soon(self._beat)
                nursery.start_soon(self._watch_hangups)
                task_status.started()
        finally:
            self._nursery = None
            self.close_all_nowait()
            self._epoll.close()

    def close_all_nowait(self) -> None:
        self.closing = True
        for client in list(self._by_fd.values()):
            # a clean end, with a reconnection delay drawn per client: the crowd comes back spread out
            self.end_nowait(client, retry_frame(DRAIN_RETRY_MS))
        for listener in list(self._listeners):
            self._end(listener, "shutdown")

    async def drain(self) -> None:
        """Wait until no frame is in flight (each flusher finished or gave up)."""
        if self.flushing:
            self._drained = trio.Event()
            await self._drained.wait()

    async def _beat(self) -> None:
        while True:
            await trio.sleep(self.heartbeat)
            now = trio.current_time()
            for client in [c for c in self._by_fd.values() if self._stalled(client=c, now=now)]:
                log.info("stream_stalled", ip=client.ip, queued=client.queued)
                self.drop_nowait(client, "slow")
            beat = heartbeat_frame(self.ring.newest)  # also a resume point for quiet streams
            for members in list(self._groups.values()):
                self._offer_all(beat, members)

    def _stalled(self, client: SocketClient, now: float) -> bool:
        """True once the socket's send queue has not shrunk for ``stall_timeout``."""
        try:
            queued = int.from_bytes(fcntl.ioctl(client.sock.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"), "little")
        except OSError:
            return False
        if queued == 0 or queued < client.queued:
            client.stalled_since = None  # empty, or the peer is reading
        elif client.stalled_since is None:
            client.stalled_since = now
        client.queued = queued
        return client.stalled_since is not None and now - client.stalled_since >= self.stall_timeout

    async def _flush(self, client: SocketClient) -> None:
        try:
            while not client.closed:
                try:
                    with trio.move_on_after(self.stall_timeout) as stalled:
                        await trio.lowlevel.wait_writable(client.sock)
                except (trio.ClosedResourceError, OSError):
                    return
                if stalled.cancelled_caught:  # no room for a whole stall timeout: the peer stopped reading
                    self.drop_nowait(client, "slow")
                    return
                outcome = client.write_pending()
                if outcome != NEEDS_FLUSH:
                    if outcome == DROP:
                        self.drop_nowait(client)
                    return
        finally:
            client.flushing = False
            self.flushing -= 1
            if not self.flushing and self._drained is not None:
                self._drained.set()

    async def _watch_hangups(self) -> None:
        while True:
            await trio.lowlevel.wait_readable(self._epoll.fileno())
            for fd, mask in self._epoll.poll(0, 4096):
                client = self._by_fd.get(fd)
                if client is None:
                    continue
                if mask & (select.EPOLLHUP | select.EPOLLERR | select.EPOLLRDHUP):
                    self.drop_nowait(client)
                    continue
                try:  # an SSE client has nothing to say: read and discard (EOF = gone)
                    if not client.sock.recv(65536):
                        self.drop_nowait(client)
                except BlockingIOError:
                    pass
                except OSError:
                    self.drop_nowait(client)
