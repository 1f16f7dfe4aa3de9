"""The page's "Notify me" in a real headless Chromium, and its service worker showing a push.

The whole way a release travels to a closed tab, with only the push service played locally: the
page registers /sw.js and subscribes with its current filter (the language chosen); the daemon
fetches a release, encrypts it for that browser and sends it to a local push service (http on
loopback, allowed by the tests' allow-list), which decrypts it with the browser's private key;
that plaintext is delivered to the service worker through the DevTools protocol
(``ServiceWorker.deliverPushMessage``), and the notification it shows is read back through
``registration.getNotifications()``.

Headless Chromium cannot reach a real push service, so ``PushManager.subscribe`` is given the
local service's endpoint and this test's keys (an init script, which also keeps that subscription for
``getSubscription``); everything else is the page's own, unsubscribing included.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece

from tests.browser_support import chromium, page_env
from tests.daemon_proc import Daemon, free_port
from tests.process_support import get_json, post, wait_for_event
from tests.push_service import Browser

FAKE_SUBSCRIBE = """
let saved = null;
PushManager.prototype.subscribe = async function () {
  const body = %s;
  saved = { endpoint: body.endpoint, toJSON: () => body, unsubscribe: async () => { saved = null; return true; } };
  return saved;
};
PushManager.prototype.getSubscription = async function () { return saved; };
"""


class LocalPushService:
    """A threaded HTTP server that decrypts what it is sent for one browser (sync: this test is)."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.arrived = threading.Condition()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["content-length"]))
                plain = http_ece.decrypt(body, private_key=outer.browser.key, auth_secret=outer.browser.auth,
                                         version="aes128gcm")
                with outer.arrived:
                    outer.messages.append(plain)
                    outer.arrived.notify_all()
                self.send_response(201)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.browser = Browser("page", f"http://127.0.0.1:{self.server.server_port}/push/page")
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, count: int, timeout: float) -> list[bytes]:
        with self.arrived:
            assert self.arrived.wait_for(lambda: len(self.messages) >= count, timeout), self.messages
            return list(self.messages)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def notification_titles(page: Any) -> list[str]:
    return page.evaluate("navigator.serviceWorker.ready.then(r => r.getNotifications())"
                         ".then(ns => ns.map(n => n.title))")


def test_notify_me_subscribes_with_the_page_filter_and_the_worker_shows_the_pushed_release(
        tmp_path, fresh_db_url, simulator, plain_asyncio):
    port = free_port()
    env = {**page_env(port, fresh_db_url, simulator, "ml,hi"), "VIBED_WEBHOOK_ALLOW_HTTP": "true",
           "VIBED_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8", "VIBED_WEBHOOK_POLL": "0.1"}
    base = f"http://127.0.0.1:{port}"
    service = LocalPushService()
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        first = post(f"{base}/api/new-releases/fetch")["round_id"]  # the catalogue, before anyone subscribes
        wait_for_event(daemon, "fetch_completed", round_id=first)
        with chromium() as browser:
            context = browser.new_context()
            context.grant_permissions(["notifications"], origin=base)
            context.add_init_script(FAKE_SUBSCRIBE % json.dumps(service.browser.subscription()))
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            registrations: list[str] = []
            cdp.on("ServiceWorker.workerRegistrationUpdated",
                   lambda event: registrations.extend(r["registrationId"] for r in event["registrations"]
                                                      if r["scopeURL"] == base + "/" and not r["isDeleted"]))
            cdp.send("ServiceWorker.enable")
            page.goto(base + "/")
            page.click("#languages .chip[data-code=ml]")  # the page's filter: Malayalam only
            page.click("#notify")
            page.wait_for_selector("#notify[aria-pressed=true]", timeout=10_000)
            assert page.evaluate("navigator.serviceWorker.ready.then(r => r.active.scriptURL)") == base + "/sw.js"
            assert get_json(f"{base}/api/health")["push"]["subscriptions"] == 1

            post(f"{simulator}/_sim/release", {"language": "hi", "kind": "album", "title": "Not For This Page"})
            post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Pushed To A Closed Tab"})
            wait_for_event(daemon, "fetch_completed", round_id=post(f"{base}/api/new-releases/fetch")["round_id"])
            [plain] = service.wait_for(1, timeout=20)
            time.sleep(1)  # the hi release never follows: the subscription kept the page's filter
            assert len(service.messages) == 1
            message = json.loads(plain)
            assert message["title"] == "Pushed To A Closed Tab" and message["language"] == "ml"

            deadline = time.monotonic() + 10
            while not registrations:
                assert time.monotonic() < deadline, "the service worker's registration was never reported"
                page.wait_for_timeout(100)
            # a push that reaches a worker still starting is dropped by Chromium: deliver again until one shows
            deadline, again = time.monotonic() + 30, 0.0
            while "Pushed To A Closed Tab" not in (titles := notification_titles(page)):
                assert time.monotonic() < deadline, titles
                if time.monotonic() >= again:
                    cdp.send("ServiceWorker.deliverPushMessage",
                             {"origin": base, "registrationId": registrations[-1], "data": plain.decode()})
                    again = time.monotonic() + 3
                page.wait_for_timeout(100)
            assert set(titles) == {"Pushed To A Closed Tab"}

            page.click("#notify")  # pressed again: unsubscribed, here and at the daemon
            page.wait_for_selector("#notify[aria-pressed=false]", timeout=10_000)
            assert get_json(f"{base}/api/health")["push"]["subscriptions"] == 0
            context.close()
    finally:
        daemon.kill()
        service.close()
