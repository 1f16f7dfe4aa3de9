"""The live page in a real headless Chromium shows a hostile title as text, live (SSE) and after a
reload (the listing): no element is made from it and no handler in it runs.  (Its CSP would stop
the handler anyway; the element count is what catches a page that inserts titles as HTML.)"""

from __future__ import annotations

import shutil

import pytest

from tests.daemon_proc import Daemon, clean_env, free_port
from tests.process_support import post, wait_for_event
from tests.tools import require_tool

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
HOSTILE = '<img src=x onerror="window.__owned=1">Owned <b>bold</b>'


@pytest.fixture
def plain_asyncio():
    """Playwright's sync API runs its own asyncio loop; trio-asyncio's policy must not supply it."""
    import asyncio

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    yield
    asyncio.set_event_loop_policy(previous)


def test_a_hostile_title_shows_as_text_live_and_after_a_reload(tmp_path, fresh_db_url, simulator, plain_asyncio):
    chromium = require_tool(CHROMIUM, "needs Debian's chromium: apt-get install chromium")
    from playwright import sync_api  # in the test extras
    port = free_port()
    env = clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=fresh_db_url, JIOSAAVN_BASE_URL=simulator,
                    VIBED_LANGUAGES="ml", VIBED_SCHEDULE="0 0 1 1 *")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        with sync_api.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            page = browser.new_page()
            page.goto(base + "/")
            page.wait_for_selector("#connection[data-state=live]", timeout=10_000)
            post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": HOSTILE})
            wait_for_event(daemon, "fetch_completed", round_id=post(f"{base}/api/new-releases/fetch")["round_id"])
            shown = []
            for arrival in ("live", "reload"):
                if arrival == "reload":  # within the listing's max-age: the page must revalidate it
                    page.reload()
                card = page.locator(".card").filter(has_text="Owned").first
                card.wait_for(timeout=10_000)
                shown.append((card.locator(".title").inner_text(), card.locator(".title *").count(),
                               page.evaluate("window.__owned === undefined")))
            browser.close()
    finally:
        daemon.kill()
    assert shown == [(HOSTILE, 0, True)] * 2, shown
