"""The live page in a real headless Chromium shows a hostile title as text, live (SSE) and after a
reload (the listing): no element is made from it and no handler in it runs.  (Its CSP would stop
the handler anyway; the element count is what catches a page that inserts titles as HTML.)"""

from __future__ import annotations

from tests.browser_support import chromium, page_env
from tests.daemon_proc import Daemon, free_port
from tests.process_support import post, wait_for_event

HOSTILE = '<img src=x onerror="window.__owned=1">Owned <b>bold</b>'


def test_a_hostile_title_shows_as_text_live_and_after_a_reload(tmp_path, fresh_db_url, simulator, plain_asyncio):
    port = free_port()
    env = page_env(port, fresh_db_url, simulator, "ml")
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        with chromium() as browser:
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
    finally:
        daemon.kill()
    assert shown == [(HOSTILE, 0, True)] * 2, shown
