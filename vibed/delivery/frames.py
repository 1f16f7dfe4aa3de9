"""Bytes on the wire, encoded once per event and shared by every client.

An SSE body is chunked for HTTP/1.1 peers and close-delimited for HTTP/1.0 ones, so each frame
exists in both framings; which one a client gets is fixed when its response head is written.
"""

from __future__ import annotations

import itertools
import json
import random
from collections.abc import Iterator
from typing import Any

import attrs

from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

HEARTBEAT_BODY = b": hb\n\n"
RETRY_MS = (3000, 6000)  # a stream's reconnection delay, drawn per stream: a crowd comes back spread out
DRAIN_RETRY_MS = (2000, 15000)  # on shutdown: the whole crowd reconnects at once otherwise
STREAM_HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),  # a stream is never stored nor reused (nothing could revalidate it)
    (b"x-accel-buffering", b"no"),  # nginx: pass each frame on at once
)


def _dumps(value: Any) -> str:
    # compact, one line (json never emits raw newlines), UTF-8 kept readable
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def chunk(body: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(body), body)


@attrs.frozen
class Frame:
    """One SSE message in both framings; ``id`` 0 = not an event (heartbeat, retry)."""

    id: int
    body: bytes  # HTTP/1.0: the body is the raw event-stream
    chunked: bytes  # HTTP/1.1: the same bytes as one chunk

    @classmethod
    def of(cls, event_id: int, body: bytes) -> Frame:
        return cls(event_id, body, chunk(body))

    def wire(self, chunked: bool) -> bytes:
        return self.chunked if chunked else self.body


HEARTBEAT = Frame.of(0, HEARTBEAT_BODY)


def retry_frame(low_high: tuple[int, int] = RETRY_MS, *, rng: random.Random | None = None) -> Frame:
    """``retry: <ms>`` with the delay drawn from ``low_high``: browsers reconnect after it."""
    return Frame.of(0, b"retry: %d\n\n" % (rng or random).randint(*low_high))


def retry_frames(low_high: tuple[int, int] = RETRY_MS, count: int = 1024, *,
                 rng: random.Random | None = None) -> Iterator[Frame]:
    """``retry_frame``s of ``count`` distinct delays drawn once from ``low_high``, then handed out in
    turn for ever: one stream after another gets a different delay (a crowd still comes back spread
    out) without a draw and an encoding per stream."""
    low, high = low_high
    delays = (rng or random).sample(range(low, high + 1), min(count, high - low + 1))
    return itertools.cycle([Frame.of(0, b"retry: %d\n\n" % delay) for delay in delays])


def gone_frame(reason: str, low_high: tuple[int, int] = RETRY_MS) -> Frame:
    """A stream's last message: a comment saying why it ends, and a ``retry:`` drawn from ``low_high``."""
    comment = reason.replace("\r", " ").replace("\n", " ").encode()
    return Frame.of(0, b": %s\n\nretry: %d\n\n" % (comment, random.randint(*low_high)))


def resume_frame(event_id: int) -> Frame:
    """``id: N`` and a blank line: sets the browser's ``lastEventId`` and dispatches nothing (WHATWG
    HTML, "dispatch the event": the id is taken before the empty data ends the dispatch), so a
    stream that has no event to send yet still reconnects from where it stands."""
    return Frame.of(0, b"id: %d\n\n" % event_id)


def heartbeat_frame(newest: int) -> Frame:
    """A heartbeat that also moves a quiet stream's resume point up to the newest published id."""
    return Frame.of(0, b": hb\nid: %d\n\n" % newest) if newest else HEARTBEAT


def event_frame(event: StoredEvent) -> Frame:
    data = _dumps(dict(event.payload))
    return Frame.of(event.id, f"id: {event.id}\nevent: {event.kind}\ndata: {data}\n\n".encode())


def reset_frame(resume_id: int, reason: str) -> Frame:
    """Replay cannot cover the gap: the client resumes from ``resume_id`` (the current max id)."""
    data = _dumps({"reason": reason})
    return Frame.of(resume_id, f"id: {resume_id}\nevent: reset\ndata: {data}\n\n".encode())


def ws_event(event: StoredEvent) -> str:
    return _dumps({"id": event.id, "event": event.kind, "data": dict(event.payload)})


def ws_subscribed(flt: ReleaseFilter, last_event_id: int) -> str:
    """A subscription's confirmation: its filter (each field sorted; [] = any) and its resume point."""
    return _dumps({"event": "subscribed", "data": {
        "language": sorted(flt.languages or ()), "source": sorted(flt.sources or ()),
        "kind": sorted(flt.kinds or ()), "artist": sorted(flt.artists or ()), "last_event_id": last_event_id}})


def ws_reset(resume_id: int, reason: str) -> str:
    return _dumps({"id": resume_id, "event": "reset", "data": {"reason": reason}})


def ws_error(error: str, detail: str) -> str:
    return _dumps({"error": error, "detail": detail})
