"""Web Push end to end: a live daemon, a real PostgreSQL, a local push service on a real socket that
decrypts every message with the browser's private key and checks the VAPID JWT and its ``aud``.

Releases are stored through ``write_batch`` — the writer's transaction, which writes the push
outbox rows with the events — and the daemon's push sender delivers them.
"""

from __future__ import annotations

import attrs
import trio

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon
from tests.push_service import b64url, open_push_service, unb64url
from tests.test_webhooks import FAST, LOCAL
from vibed.push import keys
from vibed.push import subscriptions as push_subscriptions
from vibed.push.sender import PushSender, PushSettings
from vibed.store import watches
from vibed.store.watches import WatchChange
from vibed.vocab.release_filter import EVERYTHING


def config(db_url, **overrides):
    return api_config(db_url, **{**LOCAL, **FAST, **overrides})


async def subscribe(api, body: dict, status: int = 201) -> dict:
    r = await api.client.post("/api/push/subscriptions", json=body)
    assert r.status_code == status, r.text
    return r.json()


async def wait_until(predicate, timeout: float = 15.0) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.05)


async def test_every_matching_release_arrives_once_in_order_decrypted_and_signed(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url)) as api:
        key = (await api.client.get("/api/push/vapid-public-key")).json()["public_key"]
        push.expect_key = unb64url(key)
        assert len(push.expect_key) == 65 and push.expect_key[0] == 4
        ml, anything = push.browser("ml"), push.browser("any")
        sub = await subscribe(api, ml.subscription(language="ml"))
        assert sub["language"] == ["ml"] and isinstance(sub["id"], int)
        await subscribe(api, anything.subscription())
        await store(db, *(release(n, language="ml" if n % 2 else "hi", title=f"T{n:02}") for n in range(10)))
        await store(db, *(release(n, language="ml", title=f"T{n:02}") for n in range(10, 14)))
        await push.wait_for(5 + 4 + 14)
        await wait_until(lambda: _all_delivered(db))
        await trio.sleep(0.3)  # nothing more comes
    events = [(r["id"], r["title"], r["language"]) for r in
              await db.fetch("SELECT id, payload->>'title' AS title, payload->>'language' AS language"
                             " FROM events ORDER BY id")]
    assert [m["event_id"] for m in push.messages["any"]] == [e[0] for e in events]  # once each, in order
    assert [m["event_id"] for m in push.messages["ml"]] == [e[0] for e in events if e[2] == "ml"]
    assert [m["title"] for m in push.messages["any"]] == [e[1] for e in events]
    first = push.messages["ml"][0]
    n = int(first["title"][1:])
    assert first["artists"] == ["Sushin Shyam"] and first["url"] == f"https://example.test/{n}" and n % 2
    assert push.headers[0]["urgency"] == "normal" and int(push.headers[0]["ttl"]) == 86400
    assert not push.rejected


async def _all_delivered(db) -> bool:
    return await db.fetchval("SELECT count(*) FROM push_outbox WHERE state <> 'delivered'") == 0


async def test_a_410_removes_the_subscription_and_its_line(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url)) as api:
        gone, kept = push.browser("gone"), push.browser("kept")
        push.answer = lambda name, message: 410 if name == "gone" else 201
        await subscribe(api, gone.subscription())
        await subscribe(api, kept.subscription())
        await store(db, *(release(n) for n in range(3)))
        await push.wait_for(3)
        await wait_until(lambda: _is(db, "SELECT count(*) FROM push_subscriptions", 1))
        await wait_until(lambda: _all_delivered(db))
        assert await db.fetchval("SELECT endpoint FROM push_subscriptions") == kept.endpoint
        assert await db.fetchval("SELECT count(*) FROM push_outbox") == 3  # the gone one's rows went with it
        assert push.messages["gone"] == [] and len(push.messages["kept"]) == 3
        health = (await api.client.get("/api/health")).json()
        assert health["push"] == {"subscriptions": 1, "pending": 0, "dead": 0}
        text = (await api.client.get("/metrics")).text
        for line in ('vibed_push_attempts_total{outcome="delivered"} 3.0', "vibed_push_subscriptions_gone_total 1.0",
                     "vibed_push_subscriptions 1.0", 'vibed_push_deliveries{state="pending"} 0.0'):
            assert line in text, line


async def _is(db, sql, value) -> bool:
    return await db.fetchval(sql) == value


async def test_subscribe_again_replaces_and_unsubscribe_removes(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url)) as api:
        browser = push.browser("b")
        first = await subscribe(api, browser.subscription(language="ml"))
        again = await subscribe(api, browser.subscription(language="hi", kind="song"), status=200)
        assert again["id"] == first["id"] and again["language"] == ["hi"] and again["kind"] == ["song"]
        r = await api.client.request("DELETE", "/api/push/subscriptions", json={"endpoint": browser.endpoint})
        assert r.status_code == 204
        r = await api.client.request("DELETE", "/api/push/subscriptions", json={"endpoint": browser.endpoint})
        assert r.status_code == 404 and r.json()["error"] == "not_found"
        assert await db.fetchval("SELECT count(*) FROM push_subscriptions") == 0


async def test_bad_subscriptions_are_4xx_json_in_the_one_shape(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url)) as api:
        good = push.browser("g").subscription()
        keys = good["keys"]
        not_on_curve = b"\x04" + b"\x01" * 64
        cases = [
            ({**good, "keys": {**keys, "p256dh": b64url(not_on_curve)}}, "invalid_keys", "P-256"),
            ({**good, "keys": {**keys, "p256dh": b64url(b"\x04" + b"\x01" * 10)}}, "invalid_keys", "65 bytes"),
            ({**good, "keys": {**keys, "auth": b64url(b"x" * 15)}}, "invalid_keys", "16-byte"),
            ({**good, "keys": {**keys, "auth": "***"}}, "invalid_keys", "auth"),
            ({**good, "keys": None}, "invalid_body", "keys"),
            ({**good, "endpoint": "ftp://push.example/x"}, "invalid_body", "endpoint"),
            ({**good, "language": "xx"}, "unknown_language", "language"),
            ({**good, "colour": "red"}, "invalid_body", "colour"),
            ({k: v for k, v in good.items() if k != "endpoint"}, "invalid_body", "endpoint"),
        ]
        for body, code, words in cases:
            r = await api.client.post("/api/push/subscriptions", json=body)
            assert r.status_code == 400, (body, r.text)
            assert r.json()["error"] == code and words in r.json()["detail"], r.json()
        r = await api.client.post("/api/push/subscriptions", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["error"] == "invalid_json"
        assert await db.fetchval("SELECT count(*) FROM push_subscriptions") == 0


async def test_endpoints_are_held_to_the_ssrf_rules(db, db_url):
    """https only, public addresses only: without the tests' allow-list, loopback and metadata are refused."""
    async with open_push_service() as push, running_daemon(api_config(db_url)) as api:
        keys = push.browser("x").subscription()["keys"]
        for endpoint, words in (("http://push.example/x", "https"), ("https://127.0.0.1/x", "loopback"),
                                ("https://169.254.169.254/latest", "link-local"), ("https://10.0.0.8/x", "private"),
                                ("https://[::ffff:127.0.0.1]/x", "IPv4")):
            r = await api.client.post("/api/push/subscriptions", json={"endpoint": endpoint, "keys": keys})
            assert r.status_code == 400 and words in r.json()["detail"], (endpoint, r.text)


async def test_an_endpoint_whose_name_resolves_to_a_refused_address_is_not_reached_when_sending(db, db_url):
    """A name passes at subscription (no lookup then); the connection vets what it resolves to, as webhooks do."""
    async with open_push_service() as push, \
            running_daemon(config(db_url, webhook_allow_cidrs="192.0.2.0/24")) as api:  # loopback not allowed
        body = push.browser("named").subscription()
        body["endpoint"] = str(body["endpoint"]).replace("127.0.0.1", "localhost")
        await subscribe(api, body)
        await store(db, release(1, title="Named"))

        async def refused() -> bool:
            error = await db.fetchval("SELECT last_error FROM push_outbox")
            return error is not None and "refused" in error

        await wait_until(refused)
    assert push.receiver.received == [] and push.messages["named"] == []
    assert "is loopback" in await db.fetchval("SELECT last_error FROM push_outbox")


async def test_a_subscription_made_from_a_watch_follows_the_watch_as_it_changes(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url)) as api:
        watch, _ = await watches.create(db, WatchChange(name="ml", languages=["ml"], parts=frozenset({"languages"})))
        browser = push.browser("w")
        sub = await subscribe(api, browser.subscription(watch=watch.id))
        assert sub["watch"] == watch.id and sub["language"] == ["ml"]
        await store(db, release(1, language="ml", title="ML"), release(2, language="hi", title="HI"))
        await push.wait_for(1)
        await watches.update(db, watch.id, WatchChange(languages=["hi"], parts=frozenset({"languages"})))
        await store(db, release(3, language="ml", title="ML2"), release(4, language="hi", title="HI2"))
        await push.wait_for(2)
        await wait_until(lambda: _all_delivered(db))
        assert [m["title"] for m in push.messages["w"]] == ["ML", "HI2"]
        for body, code in (({**browser.subscription(watch="A" * 22), "endpoint": browser.endpoint + "x"}, "unknown_watch"),
                           (browser.subscription(watch="nope"), "bad_watch"),
                           (browser.subscription(watch=watch.id, language="ml"), "watch_and_filter")):
            r = await api.client.post("/api/push/subscriptions", json=body)
            assert r.status_code == 400 and r.json()["error"] == code, r.text
        await watches.delete(db, watch.id)  # the subscription goes with its watch
        assert await db.fetchval("SELECT count(*) FROM push_subscriptions") == 0


async def test_past_the_most_subscriptions_a_new_endpoint_is_503_and_a_known_one_is_still_replaced(db, db_url):
    async with open_push_service() as push, running_daemon(config(db_url, max_push_subscriptions=2)) as api:
        first, second, third = (push.browser(n) for n in ("one", "two", "three"))
        await subscribe(api, first.subscription())
        await subscribe(api, second.subscription())
        r = await api.client.post("/api/push/subscriptions", json=third.subscription())
        assert r.status_code == 503 and r.json()["error"] == "too_many_subscriptions" and r.headers["retry-after"]
        again = await subscribe(api, first.subscription(language="ml"), status=200)
        assert again["language"] == ["ml"]
        assert await db.fetchval("SELECT count(*) FROM push_subscriptions") == 2


async def test_four_senders_on_one_outbox_send_each_message_once_and_in_order(db, db_url):
    """Several processes' senders share the outbox: a claimed head is leased, so neither sends it too."""
    settings = attrs.evolve(PushSettings.of(config(db_url)), concurrency=2, poll=0.01)
    vapid = await keys.load_or_make(db, "mailto:ops@example.org")
    async with open_push_service() as push, trio.open_nursery() as nursery:
        push.expect_key = vapid.public_key
        browsers = [push.browser(f"b{n}") for n in range(4)]
        for browser in browsers:
            await push_subscriptions.subscribe(db, push_subscriptions.NewSubscription(
                browser.endpoint, browser.p256dh, browser.auth, EVERYTHING), limit=100)
        await store(db, *(release(n, title=f"T{n:02}") for n in range(40)))
        senders = [PushSender(db, vapid, settings) for _ in range(4)]
        wakes = [trio.open_memory_channel[None](1) for _ in senders]  # polled, never woken
        for sender, (_, wakes_r) in zip(senders, wakes, strict=True):
            nursery.start_soon(sender.run, wakes_r)
        await push.wait_for(160)
        await wait_until(lambda: _all_delivered(db))
        await trio.sleep(0.2)
        nursery.cancel_scope.cancel()
    event_ids = [r["id"] for r in await db.fetch("SELECT id FROM events ORDER BY id")]
    for browser in browsers:
        assert [m["event_id"] for m in push.messages[browser.name]] == event_ids
    assert sum(s.delivered > 0 for s in senders) >= 2, [s.delivered for s in senders]  # they shared the work
    assert sum(s.delivered for s in senders) == 160
