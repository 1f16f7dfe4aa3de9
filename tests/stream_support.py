"""Support for the stream tests: releases stored through the real write path, a running edge
with its hub and bus (``open_gateway``), a raw SSE client (h11 parses the response, chunking included) (the real Redis is the ``redis_server``
fixture of tests/conftest.py).  No tests here."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import attrs
import h11
import trio
from quart_trio import QuartTrio

from tests.daemon_proc import free_port  # noqa: F401 - re-exported for the stream tests
from vibed.config import Config
from vibed.delivery import BusTiming, Delivery, open_delivery
from vibed.edge.connection import Timeouts
from vibed.edge.server import serve_http
from vibed.store.postgres import Database
from vibed.store.releases import write_batch
from vibed.vocab.messages import Artist, Release, StoredEvent

FAST_BUS = BusTiming(poll_interval=0.2, ping_interval=0.3, ping_timeout=1.0, max_backoff=0.3)
_serial = iter(range(1, 10**9))
BIG_BODY = 16 * 1024 * 1024  # /api/big's length


def release(language: str = "ml", kind: str = "album", source: str = "jiosaavn", title: str = "") -> Release:
    n = next(_serial)
    return Release(source=source, external_id=f"x{n}", kind=kind, title=title or f"Release {n}",
                   artists=(Artist("a1", "Artist"),), language=language, release_date=dt.date.today())


async def store(db: Database, *releases: Release) -> tuple[StoredEvent, ...]:
    """Through the writer's real transaction: the ``events`` rows the broadcaster would get."""
    return (await db.run(write_batch, db.pool, list(releases), 7)).events


def config(**overrides: Any) -> Any:
    return Config(**overrides)


def tiny_app() -> QuartTrio:
    app = QuartTrio("stream-tests")
    app.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    app.extensions["lifespan_runs"] = 0

    @app.before_serving
    async def started() -> None:
        app.extensions["lifespan_runs"] += 1

    @app.get("/api/ping")
    async def ping() -> Any:
        return {"pong": True, "lifespan_runs": app.extensions["lifespan_runs"]}

    @app.post("/api/echo")
    async def echo() -> Any:
        from quart import request
        return {"echo": (await request.get_data()).decode()}

    app.extensions["renders"] = 0

    @app.get("/api/held")
    async def held() -> Any:  # an answer the edge may hold, like the listing's
        from quart import Response
        app.extensions["renders"] += 1
        body = b'{"n": %d}' % app.extensions["renders"]
        return Response(body, content_type="application/json",
                        headers={"ETag": f'"held-{app.extensions["renders"]}"', "X-Vibed-Edge-Cache": "1"})

    @app.get("/api/dated")
    async def dated() -> Any:
        from quart import Response
        return Response(b"{}", content_type="application/json",
                        headers={"Last-Modified": "Sun, 29 Nov 2026 09:00:00 GMT", "ETag": '"dated"'})

    @app.get("/api/target")
    async def target() -> Any:  # what the app routed: path, query and Host
        from quart import request
        return {"path": request.path, "query": request.query_string.decode(), "host": request.host}

    @app.get("/api/big")
    async def big() -> Any:  # more than any socket buffer holds: a client that stops reading blocks it
        from quart import Response
        return Response(b"x" * BIG_BODY, content_type="application/octet-stream")

    @app.get("/api/slow")
    async def slow() -> Any:
        await trio.sleep(0.3)
        return {"slow": True}

    return app


@attrs.define(eq=False)
class Running:
    delivery: Delivery
    port: int
    stop: trio.Event
    writer: trio.MemorySendChannel[tuple[StoredEvent, ...]]  # the writer's end of the broadcaster inbox
    app: QuartTrio

    async def publish(self, events: tuple[StoredEvent, ...]) -> None:
        await self.writer.send(events)


@contextlib.asynccontextmanager
async def open_gateway(db: Database, **overrides: Any) -> AsyncIterator[Running]:
    timing = overrides.pop("timing", FAST_BUS)
    timeouts = overrides.pop("timeouts", Timeouts())
    async with open_delivery(config(**overrides), db, timing=timing) as delivery, trio.open_nursery() as n:
        stop = trio.Event()
        app = tiny_app()
        port = await n.start(functools.partial(serve_http, delivery, app, config(**overrides),
                                               host="127.0.0.1", port=0, shutdown=stop, grace=1.0,
                                               timeouts=timeouts))
        writer, inbox = trio.open_memory_channel[tuple[StoredEvent, ...]](0)
        await n.start(delivery.broadcaster.run, inbox)
        async with writer:
            yield Running(delivery, port, stop, writer, app)
        stop.set()


@attrs.define(eq=False)
class SseClient:
    """A raw HTTP/1.1 client reading one event stream; ``frames`` parses it into dicts."""

    stream: trio.SocketStream
    conn: h11.Connection
    response: h11.Response | None = None
    buffer: str = ""
    ended: bool = False

    @classmethod
    async def open(cls, port: int, target: str = "/api/new-releases/stream", **headers: str) -> SseClient:
        stream = await trio.open_tcp_stream("127.0.0.1", port)
        conn = h11.Connection(h11.CLIENT)
        hdrs = [("Host", "test"), *((k.replace("_", "-"), v) for k, v in headers.items())]
        await stream.send_all(conn.send(h11.Request(method="GET", target=target, headers=hdrs)))
        await stream.send_all(conn.send(h11.EndOfMessage()))
        client = cls(stream, conn)
        while client.response is None:
            await client._pump()
        return client

    @property
    def status(self) -> int:
        return self.response.status_code  # type: ignore[union-attr]

    def header(self, name: str) -> str:
        return dict(self.response.headers).get(name.lower().encode(), b"").decode()  # type: ignore[union-attr]

    async def _pump(self) -> None:
        while True:
            event = self.conn.next_event()
            if event is h11.NEED_DATA:
                data = b""
                with contextlib.suppress(trio.BrokenResourceError):
                    data = await self.stream.receive_some(65536)
                self.conn.receive_data(data)
                continue
            if isinstance(event, h11.Response):
                self.response = event
            elif isinstance(event, h11.Data):
                self.buffer += bytes(event.data).decode()
            elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                self.ended = True
            return

    async def frame(self) -> dict[str, Any] | None:
        """The next message (``{"comment": "hb"}`` for comments); None once the stream ended."""
        while "\n\n" not in self.buffer:
            if self.ended:
                return None
            await self._pump()
        raw, self.buffer = self.buffer.split("\n\n", 1)
        out: dict[str, Any] = {}
        for line in raw.split("\n"):
            name, _, value = line.partition(":")
            value = value[1:] if value.startswith(" ") else value
            out[name or "comment"] = json.loads(value) if name == "data" else value
        if "id" in out:
            out["id"] = int(out["id"])
        return out

    async def events(self, count: int, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The next ``count`` non-comment, non-retry messages."""
        got: list[dict[str, Any]] = []
        with trio.fail_after(timeout):
            while len(got) < count:
                f = await self.frame()
                assert f is not None, f"stream ended after {got}"
                if "event" in f:
                    got.append(f)
        return got

    async def aclose(self) -> None:
        await self.stream.aclose()


@contextlib.asynccontextmanager
async def open_sse(port: int, target: str = "/api/new-releases/stream", **headers: str) -> AsyncIterator[SseClient]:
    client = await SseClient.open(port, target, **headers)
    try:
        yield client
    finally:
        await client.aclose()


__all__ = ["FAST_BUS", "Running", "SseClient", "config", "open_gateway", "open_sse",
           "release", "store", "tiny_app", "os"]
