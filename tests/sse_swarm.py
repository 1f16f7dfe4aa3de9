"""Browsers, as far as a stream is concerned: EventSource clients that reconnect as the spec says.

Each ``Browser`` keeps what a browser's EventSource keeps (WHATWG HTML, "server-sent events"): the
last event ID (set by every ``id:`` field, dispatched or not) and the reconnection time (``retry:``);
when its connection ends it waits that long and reconnects with ``Last-Event-ID``; a non-200 answer
ends it for good, as a browser's EventSource does.  It records the id of every ``new_release`` it
dispatches, so a test can ask whether each one arrived exactly once.  Trio, raw sockets, HTTP/1.1.
"""

from __future__ import annotations

import codecs

import attrs
import trio


@attrs.define(eq=False)
class Browser:
    port: int
    path: str = "/api/new-releases/stream"
    last_event_id: str = ""
    retry_ms: int = 3000
    received: list[int] = attrs.field(factory=list)
    connections: int = 0
    failed: int | None = None  # the status that ended it for good
    streaming: bool = False

    async def run(self) -> None:
        """Until cancelled, or until a non-200 answer (then ``failed`` holds its status)."""
        while self.failed is None:
            try:
                await self._once()
            except OSError:
                pass  # refused or reset: the daemon is restarting
            self.streaming = False
            await trio.sleep(self.retry_ms / 1000)

    async def _once(self) -> None:
        sock = await trio.open_tcp_stream("127.0.0.1", self.port)
        async with sock:
            headers = f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1:{self.port}\r\nAccept: text/event-stream\r\n"
            if self.last_event_id:
                headers += f"Last-Event-ID: {self.last_event_id}\r\n"
            await sock.send_all((headers + "\r\n").encode())
            self.connections += 1
            buffer = b""
            while b"\r\n\r\n" not in buffer:
                data = await sock.receive_some(65536)
                if not data:
                    return
                buffer += data
            head, buffer = buffer.split(b"\r\n\r\n", 1)
            status = int(head.split(b" ", 2)[1])
            if status != 200:
                self.failed = status
                return
            self.streaming = True
            chunked = b"transfer-encoding: chunked" in head.lower()
            body = _Body(chunked)
            text = body.feed(buffer)
            while True:
                text = self._lines(text)
                data = await sock.receive_some(65536)
                if not data:
                    return
                text += body.feed(data)

    def _lines(self, text: str) -> str:
        """Interpret whole messages (up to a blank line); returns what is left."""
        while "\n\n" in text:
            message, text = text.split("\n\n", 1)
            event, data, last_id = "message", "", None
            for line in message.split("\n"):
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "id":
                    last_id = value
                elif name == "retry" and value.isdigit():
                    self.retry_ms = int(value)
                elif name == "data":
                    data += value
                elif name == "event":
                    event = value
            if last_id is not None:
                self.last_event_id = last_id  # set before the dispatch, even with no data
            if data and event == "new_release":
                self.received.append(int(self.last_event_id))
        return text


@attrs.define(eq=False)
class _Body:
    """The stream's body as text: chunked (HTTP/1.1) or close-delimited."""

    chunked: bool
    raw: bytes = b""
    text: codecs.IncrementalDecoder = attrs.field(factory=lambda: codecs.getincrementaldecoder("utf-8")())

    def feed(self, data: bytes) -> str:
        if not self.chunked:
            return self.text.decode(data)
        self.raw += data
        out = b""
        while True:
            line_end = self.raw.find(b"\r\n")
            if line_end < 0:
                break
            size = int(self.raw[:line_end].split(b";")[0] or b"0", 16)
            if size == 0 or len(self.raw) < line_end + 2 + size + 2:
                break
            out += self.raw[line_end + 2:line_end + 2 + size]
            self.raw = self.raw[line_end + 2 + size + 2:]
        return self.text.decode(out)
