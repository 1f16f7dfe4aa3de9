"""One SSE client as the hub holds it: a raw non-blocking socket and a small backlog, no task.

``offer`` is the hot path: called once per matching frame, it writes straight to the socket.
Only when the kernel buffer is full does the client keep the rest and ask the hub for a flusher
task; past ``backlog`` queued frames the client is too slow and is dropped (it reconnects with
Last-Event-ID and loses nothing).
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import attrs

from vibed.delivery.frames import Frame
from vibed.vocab.release_filter import ReleaseFilter

WROTE, NEEDS_FLUSH, DROP = 0, 1, 2  # what ``offer`` asks of the hub


@attrs.define(eq=False)
class SocketClient:
    sock: socket.socket
    filter: ReleaseFilter
    chunked: bool  # HTTP/1.1 peer: frames go out as chunks
    ip: str
    backlog: int
    watch: str | None = None  # the watch its filter came from (the hub applies the watch's changes)
    asked_at: float = 0.0  # when that watch was read for it (``StreamRequest.asked_at``)
    floor: int = 0  # ids at or below were replayed already: never twice
    paused: bool = True  # registered before replay; frames wait in ``pending`` until resumed
    flushing: bool = False
    closed: bool = False
    queued: int = 0  # bytes in the kernel's send queue at the last heartbeat
    stalled_since: float | None = None  # since when that queue has not shrunk
    # created lazily: most clients never need one, and an idle client must stay small
    pending: list[tuple[int, bytes | memoryview]] | None = None

    def offer(self, frame: Frame) -> int:
        if frame.id and frame.id <= self.floor:
            return WROTE
        pending = self.pending
        if not frame.id and (pending or self.paused):
            return WROTE  # a heartbeat only matters to an idle client
        data = frame.chunked if self.chunked else frame.body
        if pending or self.paused:
            if pending is None:
                pending = self.pending = []
            if len(pending) >= self.backlog:
                return DROP
            pending.append((frame.id, data))
            return WROTE
        try:
            sent = self.sock.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:  # EPIPE, ECONNRESET: the peer is gone
            return DROP
        if sent == len(data):
            return WROTE
        self.pending = [(frame.id, memoryview(data)[sent:])]
        return NEEDS_FLUSH

    def resume(self, floor: int, first: Sequence[tuple[int, bytes]] = ()) -> int:
        """End of replay: ``first`` (the replay's bytes) goes out, then the queued live frames the
        replay did not cover; what the kernel does not take now stays pending."""
        self.floor = floor
        self.paused = False
        live = [(i, d) for i, d in self.pending or () if not i or i > floor]
        self.pending = [*first, *live] if first else live
        return self.write_pending()

    def write_pending(self) -> int:
        """Write what the kernel takes now, in one ``sendmsg`` per up to 64 entries (a replay and the
        frames queued behind it go out together); NEEDS_FLUSH while something is left."""
        pending = self.pending
        while pending:
            try:
                sent = self.sock.sendmsg([data for _, data in pending[:64]])
            except BlockingIOError:
                return NEEDS_FLUSH
            except OSError:
                return DROP
            done = 0
            for _id, data in pending:
                if sent < len(data):
                    break
                sent -= len(data)
                done += 1
            del pending[:done]
            if sent:  # the kernel took part of the next entry
                event_id, data = pending[0]
                pending[0] = (event_id, memoryview(data)[sent:])
                return NEEDS_FLUSH
            if pending and done < 64:
                return NEEDS_FLUSH  # it took less than was offered: the buffer is full
        self.pending = None
        return WROTE
