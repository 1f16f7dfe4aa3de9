"""The deploy drill at scale: 5,000 browsers on a real ``vibed run``, half live-only, a SIGTERM restart,
and releases published within a second of the new process answering.  Every browser must end with
every release exactly once.

Reproduce (from the repository root):

    .venv/bin/python tests/benchmarks/restart_drill.py                 # 5,000 browsers
    .venv/bin/python tests/benchmarks/restart_drill.py --browsers 500  # a quick check

The browsers are ``tests/sse_swarm.Browser``: EventSource clients that keep the last ``id:`` they read,
obey ``retry:``, reconnect with ``Last-Event-ID``, and give up for good on a non-200, as a browser does.
They run in this process (Trio); the daemon (``vibed run --simulate``, embedded PostgreSQL, a fresh
data directory, per-address limits off since every browser shares 127.0.0.1) is a child process.

Printed: one JSON line: browsers, how many hold every release exactly once, how many miss one or got
one twice, how many gave up, how long from the health answer to the last browser caught up, and
the daemon's replay counters (database queries, answers from memory) after the restart.
Not collected by pytest (tests/benchmarks is excluded).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from reconnect_storm import Daemon, _post, metric, simulator  # noqa: E402
from sidebyside import free_port, raise_fd_limit  # noqa: E402

from tests.pg_support import reachable_by_the_cluster_user  # noqa: E402
from tests.sse_swarm import Browser  # noqa: E402


async def until(predicate, timeout: float, what: str, browsers=()) -> float:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    with trio.move_on_after(timeout):
        while not predicate():
            await trio.sleep(0.1)
        return time.monotonic() - started
    states = {"streaming": sum(b.streaming for b in browsers), "gave_up": [b.failed for b in browsers if b.failed],
              "connections": sum(b.connections for b in browsers)}
    raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}: {states}")


async def drill(n: int, publish: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        reachable_by_the_cluster_user(data, data)  # as root: the cluster's user must reach the data directory
        port = free_port()
        with simulator(data) as sim_url:
            return await _drill(n, publish, data, port, sim_url)


async def _drill(n: int, publish: int, data: Path, port: int, sim_url: str) -> dict[str, object]:
    daemon = await trio.to_thread.run_sync(Daemon, data, port, sim_url)
    try:
        sim = daemon.simulator_url()
        await trio.to_thread.run_sync(_post, f"{sim}/_sim/release", {"count": 30, "language": "ml"})
        await trio.to_thread.run_sync(_post, f"http://127.0.0.1:{port}/api/new-releases/fetch", {})
        await until(lambda: daemon.newest() >= 20, 60, "the first releases")
        before = daemon.newest()
        browsers = [Browser(port, last_event_id="" if i % 2 == 0 else str(before - 10)) for i in range(n)]
        async with trio.open_nursery() as nursery:
            for browser in browsers:
                nursery.start_soon(browser.run)
                if len(nursery.child_tasks) % 200 == 0:
                    await trio.sleep(0.01)  # as browsers arrive, not in one instant
            connect_s = await until(lambda: all(b.streaming for b in browsers), 120, "every browser streaming",
                                    browsers)
            await until(lambda: all(b.last_event_id == str(before) for b in browsers), 60, "every resume point")
            await trio.to_thread.run_sync(daemon.stop)
            await until(lambda: not any(b.streaming for b in browsers), 30, "every stream ended")
            daemon = await trio.to_thread.run_sync(Daemon, data, port, sim_url)
            answered = time.monotonic()
            sim = daemon.simulator_url()
            await trio.to_thread.run_sync(_post, f"{sim}/_sim/release", {"count": publish, "language": "ml"})
            await trio.to_thread.run_sync(_post, f"http://127.0.0.1:{port}/api/new-releases/fetch", {})
            published_within_s = time.monotonic() - answered
            await until(lambda: daemon.newest() > before, 60, "the new releases stored")
            await trio.sleep(2)  # the round's last pages
            newest = daemon.newest()
            fresh = {i for b in browsers for i in b.received if i > before}
            caught_up_s = await until(lambda: all(fresh <= {i for i in b.received if i > before}
                                                  for b in browsers), 120, "every browser caught up")
            await trio.sleep(1)  # room for a late duplicate to show
            nursery.cancel_scope.cancel()
        exact = sum(1 for b in browsers if [i for i in b.received if i > before] == sorted(fresh))
        twice = sum(1 for b in browsers if len(b.received) != len(set(b.received)))
        return {
            "browsers": n, "live_only": n // 2 + n % 2, "published": len(fresh), "newest_before": before,
            "newest_after": newest, "exact": exact, "duplicates": twice,
            "gave_up": sum(1 for b in browsers if b.failed is not None),
            "connect_s": round(connect_s, 2), "published_within_s": round(published_within_s, 2),
            "caught_up_after_health_s": round(time.monotonic() - answered - 1, 2),
            "caught_up_after_publish_s": round(caught_up_s, 2),
            "replay_queries": metric(port, "vibed_replay_queries_total"),
            "replays_from_memory": metric(port, "vibed_stream_replays_total", '{source="memory"}'),
        }
    finally:
        daemon.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--browsers", type=int, default=5000)
    parser.add_argument("--publish", type=int, default=20)
    args = parser.parse_args()
    raise_fd_limit()
    print(json.dumps(trio.run(drill, args.browsers, args.publish)))


if __name__ == "__main__":
    main()
