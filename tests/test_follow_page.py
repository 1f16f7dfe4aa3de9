"""The follow box in a real headless Chromium: searching an artist and following it from the page keeps the
follow in a watch (id and token in localStorage) and narrows both the grid and the live stream to it — a
release of the followed artist in another language arrives live, another artist's release does not — and
unfollowing the last artist gives the page back its languages."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.browser_support import chromium, page_env
from tests.daemon_proc import Daemon, free_port
from tests.process_support import get_json, post, wait_for_event

FOLLOWED = "Followed Person"


def until(condition: Callable[[], bool], timeout: float = 10) -> None:
    """Polled from here: the page's CSP (script-src 'self') refuses Playwright's wait_for_function."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not within the timeout"
        time.sleep(0.1)


def _round(daemon: Daemon, base: str, languages: list[str]) -> None:
    round_id = post(f"{base}/api/new-releases/fetch", {"languages": languages})["round_id"]
    wait_for_event(daemon, "fetch_completed", round_id=round_id)


def test_following_an_artist_from_the_page_narrows_the_grid_and_the_stream(
        tmp_path, fresh_db_url, simulator, plain_asyncio):
    port = free_port()
    env = page_env(port, fresh_db_url, simulator, "ml,hi")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Followed First",
                                           "artists": [FOLLOWED]})
        _round(daemon, base, ["ml", "hi"])
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector("#connection[data-state=live]", timeout=10_000)
            assert page.locator(".card").count() > 1 and page.locator("#following-chip").is_hidden()

            page.fill("#artist-q", "followed pers")
            page.click(f"#artist-results button:has-text('{FOLLOWED}')", timeout=10_000)
            page.wait_for_selector("#following-chip[aria-pressed=true]", timeout=10_000)
            # the grid: the followed artist's release only
            until(lambda: page.locator(".card .artists").all_inner_texts() == [FOLLOWED])
            page.wait_for_selector("#connection[data-state=live]", timeout=10_000)
            kept = page.evaluate("JSON.parse(localStorage.getItem('vibed.watch'))")
            watch = get_json(f"{base}/api/new-releases?watch={kept['id']}")["data"]
            assert [r["title"] for r in watch] == ["Followed First"] and len(kept["token"]) >= 43
            assert page.locator("#followed .followed-artist").all_inner_texts() == [f"{FOLLOWED} ×"]

            # the stream: the followed artist's release in another language arrives, another artist's does not
            post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Someone Else's",
                                               "artists": ["Someone Else"]})
            post(f"{simulator}/_sim/release", {"language": "hi", "kind": "song", "title": "Followed In Hindi",
                                               "artists": [FOLLOWED]})
            started = time.monotonic()
            _round(daemon, base, ["ml", "hi"])
            page.wait_for_selector(".card.fresh:has-text('Followed In Hindi')", timeout=5_000)
            assert time.monotonic() - started < 10
            stored = {r["title"] for r in get_json(f"{base}/api/new-releases?limit=100")["data"]}
            assert "Someone Else's" in stored  # it was stored and published: the stream left it out
            page.wait_for_timeout(500)
            assert page.locator(".card:has-text(\"Someone Else's\")").count() == 0
            assert page.locator(".card .title").all_inner_texts() == ["Followed In Hindi", "Followed First"]

            page.reload()  # the follow is the browser's: it comes back with the page
            page.wait_for_selector("#following-chip[aria-pressed=true]", timeout=10_000)
            until(lambda: page.locator(".card").count() == 2)

            page.click("#followed .followed-artist")  # unfollow the only one: the languages again
            page.wait_for_selector("#following-chip", state="hidden", timeout=10_000)
            page.wait_for_selector(".card:has-text(\"Someone Else's\")", timeout=10_000)
            page.screenshot(path=str(tmp_path / "follow.png"))
    finally:
        daemon.kill()
