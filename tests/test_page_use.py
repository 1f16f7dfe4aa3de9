"""The live page used as a person uses it, in a real headless Chromium against a real daemon: on a phone,
from the keyboard, with a screen reader's live region, with a language chosen and the page reloaded, while
the list is still loading, across a dropped network, and as ``vibed run --simulate`` serves it (no console
error, nothing asked of any other host)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser_support import CuttableLink, chromium, page_env
from tests.daemon_proc import Daemon, clean_env, free_port
from tests.process_support import event_ids, get_json, post, wait_for_event, wait_until

LIVE = "#connection[data-state=live]"


class Served:
    def __init__(self, daemon: Daemon, base: str, simulator: str, db_url: str) -> None:
        self.daemon, self.base, self.simulator, self.db_url = daemon, base, simulator, db_url

    def release(self, language: str, title: str, kind: str = "album") -> None:
        post(f"{self.simulator}/_sim/release", {"language": language, "kind": kind, "title": title})

    def round(self, languages: list[str]) -> None:
        """A round over these languages, awaited until its releases are stored (and so published)."""
        round_id = post(f"{self.base}/api/new-releases/fetch", {"languages": languages})["round_id"]
        wait_for_event(self.daemon, "fetch_completed", round_id=round_id)


@pytest.fixture
def served(tmp_path, fresh_db_url, simulator, plain_asyncio) -> Iterator[Served]:
    """A daemon (languages ml, hi) over the test's simulator, its catalogue stored by a first round."""
    port = free_port()
    daemon = Daemon(tmp_path, page_env(port, fresh_db_url, simulator, "ml,hi"))
    try:
        daemon.wait_healthy(timeout=30)
        served = Served(daemon, f"http://127.0.0.1:{port}", simulator, fresh_db_url)
        served.round(["ml", "hi"])
        yield served
    finally:
        daemon.kill()


def languages_shown(page: Any) -> set[str]:
    return set(page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.language)"))


def test_on_a_phone_nothing_scrolls_sideways_and_the_keyboard_focus_shows(served):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        page.wait_for_selector(".card", timeout=15_000)
        width = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
        assert width[0] <= width[1], f"the page scrolls sideways at 360 px: {width}"
        # every control is at least 24 x 24 CSS px (WCAG 2.5.8; the footer's links sit in a sentence)
        small = page.evaluate("""() => [...document.querySelectorAll('button, input, .cover')]
            .filter((e) => e.offsetParent).map((e) => [e.className, e.getBoundingClientRect()])
            .filter(([, r]) => r.width < 24 || r.height < 24).map(([c]) => c)""")
        assert small == []

        # keyboard only: Tab reaches the first release, and its focus ring is drawn inside the cover, where
        # the card's overflow: hidden cannot clip it
        for _ in range(30):
            page.keyboard.press("Tab")
            if page.evaluate("document.activeElement.classList.contains('cover')"):
                break
        ring = page.evaluate("""() => { const s = getComputedStyle(document.activeElement);
            return [document.activeElement.className, s.outlineStyle, parseFloat(s.outlineWidth),
                    parseFloat(s.outlineOffset)]; }""")
        assert ring[0] == "cover" and ring[1] == "solid" and ring[2] >= 2 and ring[3] <= -ring[2], ring


def test_a_chosen_language_survives_a_reload_and_narrows_the_stream(served):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        wait_until(lambda: languages_shown(page) >= {"ml", "hi"}, 15, "both languages in the grid")
        page.click(".chip[data-code=ml]")
        wait_until(lambda: languages_shown(page) == {"ml"}, 15, "only Malayalam in the grid")
        assert page.url == served.base + "/?language=ml"

        page.reload()
        page.wait_for_selector(LIVE, timeout=15_000)
        page.wait_for_selector(".chip[data-code=ml][aria-pressed=true]", timeout=15_000)
        assert page.locator(".chip[data-code=''][aria-pressed=true]").count() == 0
        wait_until(lambda: page.locator(".card").count() > 0 and languages_shown(page) == {"ml"}, 15,
                   "only Malayalam in the grid after the reload")
        served.release("hi", "Hindi Left Out")
        served.release("ml", "Malayalam Let In")
        served.round(["hi", "ml"])
        page.wait_for_selector(".card.fresh:has-text('Malayalam Let In')", timeout=15_000)
        assert page.locator(".card:has-text('Hindi Left Out')").count() == 0  # the stream was narrowed too
        assert languages_shown(page) == {"ml"}

        page.click(".chip[data-code='']")  # All: the address forgets the choice
        wait_until(lambda: languages_shown(page) >= {"ml", "hi"}, 15, "both languages again")
        assert page.url == served.base + "/"


def test_arrivals_are_announced_in_one_short_line_and_the_grid_is_not_a_live_region(served):
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        page.wait_for_selector(".card", timeout=15_000)
        # a grid that is a live region reads out every card it is given: 60 at a load, a filter, a reset
        assert page.locator("[aria-live]:has(.card)").count() == 0
        assert page.get_attribute("#announce", "role") == "status"
        page.evaluate("""() => { window.announced = [];
            new MutationObserver(() => window.announced.push(document.getElementById('announce').textContent))
              .observe(document.getElementById('announce'), { childList: true, characterData: true, subtree: true }); }""")
        for n in range(3):
            served.release("ml", f"Burst {n}")
        served.round(["ml"])
        page.wait_for_selector(".card.fresh:has-text('Burst 2')", timeout=15_000)
        wait_until(lambda: sorted(set(re.findall(r"Burst \d", " ".join(page.evaluate("window.announced")))))
                   == ["Burst 0", "Burst 1", "Burst 2"], 15, "the whole burst announced")
        announced = page.evaluate("window.announced")
        assert all(len(line) < 200 for line in announced), announced
        named = re.findall(r"Burst \d", " ".join(announced))
        assert sorted(named) == ["Burst 0", "Burst 1", "Burst 2"], announced

        page.click(".chip[data-code=hi]")  # a new list: nothing to announce
        wait_until(lambda: page.locator(".card").count() > 0 and languages_shown(page) == {"hi"}, 15, "Hindi only")
        assert page.evaluate("window.announced") == announced


def test_a_release_stored_while_the_list_is_loading_is_shown(served):
    """The list is answered as it was before a new release was stored, and delivered only after: the
    release must come from the stream, which therefore has to be open before the list is asked for."""
    held: list[str] = []

    def answer_late(route: Any) -> None:
        if held:
            route.continue_()
            return
        held.append(route.request.url)
        answer = route.fetch()  # the list as it is now, kept back while a release is stored
        served.release("ml", "Stored Meanwhile")
        served.round(["ml"])
        route.fulfill(response=answer)

    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(re.compile(r"/api/new-releases\?"), answer_late)
        page.goto(served.base + "/", wait_until="commit")  # the list is held back on purpose
        page.wait_for_selector(".card:has-text('Stored Meanwhile')", timeout=60_000)
        assert held, "the list was not asked for"
        titles = page.locator(".card .title").all_inner_texts()
        assert titles[0] == "Stored Meanwhile" and titles.count("Stored Meanwhile") == 1, titles[:5]


def test_a_dropped_network_loses_and_doubles_nothing(served):
    link = CuttableLink(int(served.base.rsplit(":", 1)[1]))
    base = f"http://127.0.0.1:{link.port}"
    try:
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(base + "/")
            page.wait_for_selector(LIVE, timeout=15_000)
            served.release("ml", "Before The Drop")
            served.round(["ml"])
            page.wait_for_selector(".card.fresh:has-text('Before The Drop')", timeout=15_000)

            link.cut()
            page.wait_for_selector("#connection:not([data-state=live])", timeout=30_000)
            for n in range(3):
                served.release("hi", f"While Offline {n}", kind="song")
            served.round(["hi"])
            link.restore()
            page.wait_for_selector(LIVE, timeout=60_000)
            for n in range(3):
                page.wait_for_selector(f".card:has-text('While Offline {n}')", timeout=30_000)
            ids = page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.id)")
            assert len(ids) == len(set(ids)), "a release shown twice"
            titles = page.locator(".card .title").all_inner_texts()
            newest = [t for t in titles if t.startswith(("While Offline", "Before The Drop"))]
            # newest event on top, as stored (the order of the events' ids)
            stored = sorted(newest, key=lambda title: event_ids(served.db_url, title), reverse=True)
            assert newest == stored and len(newest) == 4, (newest, stored)
    finally:
        link.close()


def test_a_simulated_daemon_serves_a_page_with_no_console_error_and_no_other_host(tmp_path, fresh_db_url, plain_asyncio):
    """``vibed run --simulate`` as a reviewer runs it: load, choose a language, follow and unfollow an
    artist, reload; the console stays clean (no error, no CSP report) and no request leaves the origin
    (the simulated covers are made-up CDN addresses: the page draws them)."""
    port = free_port()
    env = clean_env(DATABASE_URL=fresh_db_url, PORT=str(port), VIBED_HOST="127.0.0.1",
                    VIBED_SCHEDULE="0 0 1 1 *", VIBED_LANGUAGES="ml,hi")
    daemon = Daemon(tmp_path, env, ("run", "--simulate"))
    base = f"http://127.0.0.1:{port}"
    try:
        daemon.wait_healthy(timeout=30)
        wait_for_event(daemon, "fetch_completed", timeout=60)
        artist = get_json(f"{base}/api/new-releases?limit=1&language=ml")["data"][0]["artists"][0]
        with chromium() as browser:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            said: list[str] = []
            page.on("console", lambda m: said.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
            page.on("pageerror", lambda e: said.append(f"pageerror: {e}"))
            elsewhere: list[str] = []
            context.on("request", lambda r: None if r.url.startswith(base) else elsewhere.append(r.url))

            page.goto(base + "/")
            page.wait_for_selector(LIVE, timeout=15_000)
            page.wait_for_selector(".card", timeout=15_000)
            page.mouse.wheel(0, 4000)  # the lazy covers further down too
            page.click(".chip[data-code=ml]")
            page.fill("#artist-q", artist[:6])
            page.locator("#artist-results button").filter(has_text=artist).first.click(timeout=15_000)
            page.wait_for_selector("#following-chip[aria-pressed=true]", timeout=15_000)
            page.click("#followed .followed-artist")
            page.wait_for_selector("#following-chip", state="hidden", timeout=15_000)
            page.reload()
            page.wait_for_selector(LIVE, timeout=15_000)
            page.wait_for_selector(".card", timeout=15_000)
            assert said == [] and elsewhere == [], (len(said), said[:3], elsewhere[:3])
            assert page.locator(".cover img[src]").count() == 0  # drawn, not asked of a CDN
            # the simulator writes half its titles with HTML entities, as JioSaavn does: decoded once, as text
            titles = " ".join(page.locator(".card .title, .card .artists").all_inner_texts())
            assert re.search(r"[&'\"]", titles) and not re.search(r"&(amp|quot|apos|lt|gt|#\d+);", titles), titles
    finally:
        daemon.kill()


def focused(page: Any) -> list[Any]:
    return page.evaluate("""() => { const e = document.activeElement;
        return [e.tagName, e.id || e.className, e.getAttribute('aria-label') || e.textContent.trim().slice(0, 40)]; }""")


def test_following_and_unfollowing_from_the_keyboard_keeps_the_focus_in_the_follow_box(served):
    """Enter on a result disables it, Enter on a followed chip removes it: the focus must not fall back to
    the start of the page (a screen reader's place lost, Tab starting over)."""
    artist = get_json(f"{served.base}/api/new-releases?limit=1&language=ml")["data"][0]["artists"][0]
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        page.focus("#artist-q")
        page.keyboard.type(artist)
        page.locator("#artist-results button").filter(has_text=artist).first.wait_for(timeout=15_000)
        while focused(page)[2] != f"Follow {artist}":
            page.keyboard.press("Tab")
            assert focused(page)[1] != "cover", "Tab left the follow box before reaching the result"
        page.keyboard.press("Enter")
        page.wait_for_selector("#following-chip[aria-pressed=true]", timeout=15_000)
        wait_until(lambda: focused(page)[1] == "artist-q", 15, f"the focus back in the search, not {focused(page)}")

        chip = page.locator("#followed .followed-artist")
        assert chip.get_attribute("aria-label") == f"Unfollow {artist}"
        chip.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#following-chip", state="hidden", timeout=15_000)
        wait_until(lambda: focused(page)[1] == "artist-q", 15, f"the focus in the search, not {focused(page)}")


def test_covers_that_fail_to_load_leave_the_drawn_cover(served):
    """Every upstream cover refused (as with no network): each card shows its initials, no broken image."""
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.route(re.compile(r"^https?://(?!127\.0\.0\.1)"), lambda route: route.abort())
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        first = page.locator(".card").first
        first.wait_for(timeout=15_000)
        assert first.locator("img").get_attribute("src", timeout=5_000)  # an upstream cover was asked for
        first.locator("img.broken").wait_for(state="attached", timeout=15_000)
        assert first.locator("img").is_hidden() and first.locator(".initials").is_visible()
        assert first.locator(".initials").inner_text().strip() != ""


def kinds_shown(page: Any) -> set[str]:
    return set(page.locator(".card .kind").evaluate_all("ks => ks.map(k => k.textContent)"))


def test_albums_only_narrows_the_grid_and_the_stream_and_survives_a_reload(served):
    served.release("ml", "A Song On Top", kind="song")  # the newest 60 hold a song, whatever the catalogue
    served.round(["ml"])
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(served.base + "/")
        page.wait_for_selector(LIVE, timeout=15_000)
        wait_until(lambda: kinds_shown(page) == {"album", "song"}, 15, "albums and songs in the grid")
        page.click(".chip[data-kind=album]")
        wait_until(lambda: kinds_shown(page) == {"album"}, 15, "albums only")
        assert page.url == served.base + "/?kind=album"

        page.reload()
        page.wait_for_selector(LIVE, timeout=15_000)
        page.wait_for_selector(".chip[data-kind=album][aria-pressed=true]", timeout=15_000)
        wait_until(lambda: page.locator(".card").count() > 0 and kinds_shown(page) == {"album"}, 15,
                   "albums only after the reload")
        served.release("ml", "A Song Left Out", kind="song")
        served.release("ml", "An Album Let In", kind="album")
        served.round(["ml"])
        page.wait_for_selector(".card.fresh:has-text('An Album Let In')", timeout=15_000)
        assert page.locator(".card:has-text('A Song Left Out')").count() == 0  # the stream was narrowed too

        page.click(".chip[data-kind=album]")  # pressed again: both kinds, and the address forgets it
        wait_until(lambda: kinds_shown(page) == {"album", "song"}, 15, "both kinds again")
        assert page.url == served.base + "/"


def test_a_connection_that_dies_without_closing_is_noticed_and_nothing_is_missed(tmp_path, fresh_db_url, simulator,
                                                                                   plain_asyncio):
    """A laptop asleep or a router's idle timeout: the stream's connection goes silent and never closes, so
    EventSource waits for ever. The page's check (every two heartbeats, here 2 s) sees a release the stream
    did not bring, opens the stream again from the last event shown, and the release arrives, once."""
    port = free_port()
    env = page_env(port, fresh_db_url, simulator, "ml,hi")
    daemon = Daemon(tmp_path, {**env, "VIBED_SSE_HEARTBEAT": "1"})
    link = CuttableLink(port)
    try:
        daemon.wait_healthy(timeout=30)
        served = Served(daemon, f"http://127.0.0.1:{port}", simulator, fresh_db_url)
        served.round(["ml", "hi"])
        with chromium() as browser:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{link.port}/")
            page.wait_for_selector(LIVE, timeout=15_000)
            served.release("ml", "Before The Sleep")
            served.round(["ml"])
            page.wait_for_selector(".card.fresh:has-text('Before The Sleep')", timeout=15_000)

            link.freeze()  # every connection open now goes silent; the page still says "live"
            for n in range(2):
                served.release("hi", f"While Asleep {n}", kind="song")
            served.round(["hi"])
            for n in range(2):
                page.wait_for_selector(f".card:has-text('While Asleep {n}')", timeout=45_000)
            assert page.locator("#connection").get_attribute("data-reopened"), "shown without a reopen?"
            ids = page.locator(".card").evaluate_all("cs => cs.map(c => c.dataset.id)")
            assert len(ids) == len(set(ids)), "a release shown twice"
    finally:
        link.close()
        daemon.kill()
