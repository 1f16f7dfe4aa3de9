"""The live page in a real headless Chromium: a release found upstream appears within 5 s, and the
page reconnects by itself after the daemon restarts, showing what was added meanwhile."""

from __future__ import annotations

import re
import signal
import time
import urllib.request

from tests.browser_support import chromium, page_env
from tests.daemon_proc import Daemon, free_port
from tests.process_support import get_json, post, wait_for_event


def sse_streams_opened(base: str) -> dict[str, float]:
    """``vibed_streams_opened_total{kind="sse"}`` by connection: "fresh" or "reused" (after the page)."""
    text = urllib.request.urlopen(f"{base}/metrics", timeout=10).read().decode()
    found = re.findall(r'^vibed_streams_opened_total\{connection="(\w+)",kind="sse"\} ([0-9.]+)$', text, re.M)
    return {connection: float(value) for connection, value in found}


def test_new_release_appears_live_and_the_page_survives_a_restart(tmp_path, fresh_db_url, simulator, plain_asyncio):
    port = free_port()
    env = page_env(port, fresh_db_url, simulator, "ml,hi")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        first = post(f"{base}/api/new-releases/fetch")["round_id"]  # a first round over the catalogue
        wait_for_event(daemon, "fetch_completed", round_id=first)
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector("#connection[data-state=live]", timeout=10_000)
            assert page.locator(".card").count() > 0
            # the feed links a reader discovers from the page, resolved by the browser, and answered
            feeds = page.locator("link[rel=alternate]").evaluate_all("ls => ls.map(l => [l.type, l.href])")
            assert feeds == [[t, f"{base}/feeds/new-releases.{s}"] for t, s in (
                ("application/atom+xml", "atom"), ("application/rss+xml", "rss"), ("application/feed+json", "json"))]
            assert all(page.request.get(href).status == 200 for _, href in feeds)
            # the page's EventSource is a hub client: the one, task-free stream path
            opened = sse_streams_opened(base)
            assert sum(opened.values()) >= 1, opened
            assert get_json(f"{base}/api/health")["streams"]["sse"] >= 1

            post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Vibed Browser Premiere"})
            started = time.monotonic()
            post(f"{base}/api/new-releases/fetch", {"languages": ["ml"]})
            page.wait_for_selector(".card.fresh:has-text('Vibed Browser Premiere')", timeout=5_000)
            assert time.monotonic() - started < 5
            assert page.locator(".card").first.locator(".title").inner_text() == "Vibed Browser Premiere"
            page.screenshot(path=str(tmp_path / "live.png"))

            assert daemon.stop(signal.SIGTERM)[0] == 0
            page.wait_for_selector("#connection:not([data-state=live])", timeout=10_000)
            post(f"{simulator}/_sim/release", {"language": "ml", "kind": "song", "title": "Added While Away"})

            daemon = Daemon(tmp_path, env)
            daemon.wait_healthy(timeout=30)
            post(f"{base}/api/new-releases/fetch", {"languages": ["ml"]})
            page.wait_for_selector("#connection[data-state=live]", timeout=15_000)
            page.wait_for_selector(".card:has-text('Added While Away')", timeout=10_000)
            titles = page.locator(".card .title").all_inner_texts()
            assert titles.count("Vibed Browser Premiere") == 1  # nothing doubled by the replay
            page.screenshot(path=str(tmp_path / "after-restart.png"))
    finally:
        daemon.kill()


def test_a_live_only_event_source_across_a_restart_receives_what_was_published_meanwhile(
        tmp_path, fresh_db_url, simulator, plain_asyncio):
    """A browser's own EventSource on a quiet filter, which has received no event before the restart:
    the stream's first bytes gave it a resume point, so it comes back with ``Last-Event-ID`` and is
    replayed what the new process stored before the browser returned."""
    port = free_port()
    env = page_env(port, fresh_db_url, simulator, "ml,hi")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        first = post(f"{base}/api/new-releases/fetch")["round_id"]
        wait_for_event(daemon, "fetch_completed", round_id=first)
        with chromium() as browser:
            page = browser.new_page(bypass_csp=True)  # for the test's own script; the stream is as any page's
            page.goto(base + "/api/health")  # any page of the origin: the EventSource is the test's own
            page.evaluate("""() => {
                window.got = []; window.opened = 0;
                const source = new EventSource('/api/new-releases/stream?language=hi&kind=song');
                source.onopen = () => { window.opened += 1; };
                source.addEventListener('new_release', (e) => window.got.push(JSON.parse(e.data).title));
            }""")
            page.wait_for_function("window.opened === 1", timeout=10_000)
            assert daemon.stop(signal.SIGTERM)[0] == 0
            daemon = Daemon(tmp_path, env)
            daemon.wait_healthy(timeout=30)
            post(f"{simulator}/_sim/release", {"language": "hi", "kind": "song", "title": "Sung While Away"})
            round_id = post(f"{base}/api/new-releases/fetch", {"languages": ["hi"]})["round_id"]
            wait_for_event(daemon, "fetch_completed", round_id=round_id)
            assert page.evaluate("window.opened") == 1, "the browser came back only after the release was stored"
            page.wait_for_function("window.opened === 2", timeout=30_000)  # the browser's own retry
            page.wait_for_function("window.got.includes('Sung While Away')", timeout=10_000)
            assert page.evaluate("window.got") == ["Sung While Away"]
    finally:
        daemon.kill()
