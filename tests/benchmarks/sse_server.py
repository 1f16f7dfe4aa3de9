"""The vibed side of ``sse_fanout.py``: the real edge and hub in a process of their own.

    python tests/benchmarks/sse_server.py [--max-streams N] [--page-uncached]

Prints ``{"port": P}`` once listening on 127.0.0.1 (a free port) and serves until its stdin
closes.  ``vibed.edge.server.serve_http`` runs as the daemon runs it (guard, edge cache,
metrics) over a hub fed by ``Sequencer.deliver``, the broadcaster's path; the Quart-Trio app
behind it is tiny:
- ``GET /``: a small page, marked edge-cacheable as vibed/http/page.py marks the live page
  (``--page-uncached``: the app answers every time);
- ``POST /_bench/publish``: one release event into the sequencer (the trigger of ``sse_load``);
- ``GET /_bench/stats``: the admission count, the most streams held and when (CLOCK_MONOTONIC,
  watched every 10 ms; ``?reset=1`` starts over), ``vibed_streams_opened`` by kind/connection,
  and the edge cache's hits and misses.
No database and no upstream: the writer and ``vibed run --simulate`` are not part of this.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import trio
from quart import request
from quart_trio import QuartTrio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sidebyside import raise_fd_limit  # noqa: E402

from vibed.config import Config  # noqa: E402
from vibed.delivery.admission import Admission  # noqa: E402
from vibed.delivery.broadcaster import Broadcaster  # noqa: E402
from vibed.delivery.filters import no_watches, no_watches_of  # noqa: E402
from vibed.delivery.hub import Hub  # noqa: E402
from vibed.delivery.replay import Replayer  # noqa: E402
from vibed.delivery.sequencer import Sequencer  # noqa: E402
from vibed.delivery.service import Delivery  # noqa: E402
from vibed.delivery.sse import StreamSettings  # noqa: E402
from vibed.delivery.watch_changes import WatchChanges  # noqa: E402
from vibed.edge.cache import EdgeCache  # noqa: E402
from vibed.edge.server import serve_http  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.metrics import Metrics  # noqa: E402
from vibed.vocab.messages import StoredEvent  # noqa: E402

# no "id:" or "data:" in it: sse_load looks for both in every block after the first response head
PAGE = "<!doctype html><title>vibed bench</title><p>The page a browser loads before its EventSource.</p>\n"


def serve(args: argparse.Namespace) -> None:
    raise_fd_limit()
    # as the daemon logs (info, JSON lines), to stderr: stdout is the orchestrator's pipe, read once for
    # the port; left unconfigured, structlog would print every debug line there until the pipe is full
    configure_logging(stream=sys.stderr)
    # every client comes from 127.0.0.1: no per-IP limit on API requests or streams
    config = Config(api_rate_limit=0, stream_limit_per_ip=0, connections_per_peer=0, max_streams=args.max_streams)
    hub = Hub(Admission.from_config(args.max_streams, 0), heartbeat=15.0, backlog=256)
    sequencer = Sequencer(hub, None)  # type: ignore[arg-type]  # ids arrive gap-free: no database read
    # no database: every stream here is live-only, which the replayer plans from memory
    replayer = Replayer(None, hub.ring)  # type: ignore[arg-type]
    delivery = Delivery(hub, sequencer, Broadcaster(sequencer), None, None, StreamSettings(), replayer,  # type: ignore[arg-type]
                        WatchChanges(hub, no_watches, resolve_all=no_watches_of))
    metrics = Metrics()  # the daemon counts each stream by connection (fresh/reused) and each answer
    cache = EdgeCache(lambda: sequencer.last_id)  # as wiring makes it; here so /_bench/stats can read it
    app = QuartTrio("bench")
    counter = iter(range(1, 10**9))
    watch: dict[str, Any] = {"most": 0, "most_at": None}

    page_headers = {"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"}
    if not args.page_uncached:  # as vibed/http/page.py marks the live page: the edge may hold it
        page_headers["X-Vibed-Edge-Cache"] = "1"

    @app.get("/")
    async def page():  # type: ignore[no-untyped-def]
        return PAGE, 200, page_headers

    @app.post("/_bench/publish")
    async def publish():  # type: ignore[no-untyped-def]
        n = next(counter)
        payload = {"id": n, "source": "jiosaavn", "external_id": f"x{n}", "kind": "album",
                   "title": f"Benchmark release {n}", "artists": ["Artist One", "Artist Two"],
                   "album": None, "language": "ml", "release_date": "2026-11-28", "year": 2026,
                   "image": "https://c.saavncdn.com/123/x-500x500.jpg", "url": "https://www.jiosaavn.com/album/x",
                   "explicit": False, "first_seen": "2026-11-28T19:00:00.000Z"}
        event = StoredEvent(id=n, kind="new_release", release_id=n, source="jiosaavn", language="ml",
                            release_kind="album", payload=payload)
        await sequencer.deliver((event,))
        return {"id": n}

    @app.get("/_bench/stats")
    async def stats():  # type: ignore[no-untyped-def]
        if request.args.get("reset"):
            watch.update(most=0, most_at=None)
        s = hub.statistics()
        opened = {"/".join(sample.labels.values()): int(sample.value) for family in metrics.streams.collect()
                  for sample in family.samples if sample.name.endswith("_total")}
        return {"streams": hub.admission.open, "sse_clients": s.sse_clients, "ws_clients": s.ws_clients,
                "max": hub.admission.max_streams, "slow_drops": s.slow_drops, "opened": opened,
                "edge_cache": {"hits": cache.hits, "misses": cache.misses}, **watch}

    async def watch_streams() -> None:
        while True:  # cancelled with the nursery; 10 ms is the resolution of "all connected"
            if hub.admission.open > watch["most"]:
                watch.update(most=hub.admission.open, most_at=time.monotonic())
            await trio.sleep(0.01)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            await nursery.start(hub.serve)
            nursery.start_soon(watch_streams)
            port = await nursery.start(partial(serve_http, delivery, app, config, host="127.0.0.1", port=0,
                                               shutdown=trio.Event(), grace=1.0, metrics=metrics,
                                               cache=cache))
            print(json.dumps({"port": port}), flush=True)
            await trio.to_thread.run_sync(sys.stdin.read)  # until the orchestrator closes our stdin
            nursery.cancel_scope.cancel()

    trio.run(run)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--max-streams", type=int, default=0, help="0 = as many as file descriptors allow")
    p.add_argument("--page-uncached", action="store_true", help="GET / runs the app every time")
    serve(p.parse_args())


if __name__ == "__main__":
    main()
