"""The deploy drill: browsers connected to a real ``vibed run``, half of them live-only, the daemon
restarted with SIGTERM, and releases published within a second of the new process answering.
Every browser ends with every release exactly once (``tests/benchmarks/restart_drill.py`` runs the
same drill with 5,000 browsers)."""

from __future__ import annotations

import signal
import time

import trio

from tests.daemon_proc import Daemon, clean_env, free_port
from tests.process_support import event_ids, post, wait_for_event
from tests.sse_swarm import Browser

BROWSERS = 40


def _env(port: int, db_url: str, simulator: str) -> dict[str, str]:
    return clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=db_url, JIOSAAVN_BASE_URL=simulator,
                     VIBED_LANGUAGES="ml", VIBED_SCHEDULE="0 0 1 1 *", VIBED_STREAM_LIMIT_PER_IP="0",
                     VIBED_CONNECTIONS_PER_PEER="0",
                     VIBED_API_RATE_LIMIT="0")


async def _until(predicate, timeout: float, what: str) -> None:
    with trio.fail_after(timeout):
        while not predicate():
            await trio.sleep(0.05)


async def test_browsers_half_live_only_get_each_release_published_across_a_restart_once(
        tmp_path, fresh_db_url, simulator):
    port = free_port()
    env = _env(port, fresh_db_url, simulator)
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        await trio.to_thread.run_sync(daemon.wait_healthy, 30)
        await trio.to_thread.run_sync(post, f"{simulator}/_sim/release", {"language": "ml", "count": 3})
        first = (await trio.to_thread.run_sync(post, f"{base}/api/new-releases/fetch", {}))["round_id"]
        await trio.to_thread.run_sync(lambda: wait_for_event(daemon, "fetch_completed", round_id=first))
        before = await trio.to_thread.run_sync(event_ids, fresh_db_url)
        # half come with an id (they saw the first releases), half are live-only and have seen nothing
        browsers = [Browser(port, last_event_id=str(before[0]) if i % 2 else "") for i in range(BROWSERS)]
        async with trio.open_nursery() as nursery:
            for browser in browsers:
                nursery.start_soon(browser.run)
            await _until(lambda: all(b.streaming for b in browsers), 20, "every browser streaming")
            await _until(lambda: all(b.last_event_id == str(before[-1]) for b in browsers), 10,
                         "every browser holding the newest id")

            assert (await trio.to_thread.run_sync(daemon.stop, signal.SIGTERM, 30))[0] == 0
            await _until(lambda: not any(b.streaming for b in browsers), 10, "every stream ended")
            daemon = Daemon(tmp_path, env)
            await trio.to_thread.run_sync(daemon.wait_healthy, 30)
            answered = time.monotonic()
            await trio.to_thread.run_sync(post, f"{simulator}/_sim/release", {"language": "ml", "count": 20})
            round_id = (await trio.to_thread.run_sync(post, f"{base}/api/new-releases/fetch", {}))["round_id"]
            new_daemon = daemon
            await trio.to_thread.run_sync(lambda: wait_for_event(new_daemon, "fetch_completed", round_id=round_id))
            assert time.monotonic() - answered < 1.5, "published within about a second of the health answer"
            published = (await trio.to_thread.run_sync(event_ids, fresh_db_url))[len(before):]
            await _until(lambda: all(set(published) <= set(b.received) for b in browsers), 60,
                         "every browser caught up")
            nursery.cancel_scope.cancel()
    finally:
        daemon.close()
    assert len(published) >= 15  # of the simulator's 20, those in the page's language (it leaks a few)
    for browser in browsers:
        assert browser.failed is None
        after = [i for i in browser.received if i > before[-1]]
        assert after == published, (browser.last_event_id, browser.received)  # each once, in order
    live_only = browsers[0::2]
    assert all(b.received[:0] == [] and b.connections >= 2 for b in live_only)
