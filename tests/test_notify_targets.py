"""Notification targets end to end: a live daemon, a real PostgreSQL, Apprise sending to a real receiver
on loopback (json:// and form:// are Apprise's own plugins, over real sockets).

Releases are stored through ``write_batch``, the writer's own transaction, which writes the notify
outbox rows with the events; the daemon's notify sender delivers them.
"""

from __future__ import annotations

import io
import json
import logging

import trio

from tests.api_support import release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, message, messages
from tests.webhook_receiver import open_receiver
from vibed.logs import configure_logging


async def test_json_and_form_targets_get_each_matching_release(db, db_url):
    async with open_receiver() as rx_json, open_receiver() as rx_form, running_daemon(config(db_url)) as api:
        a = await add_target(api, f"json://127.0.0.1:{rx_json.port}/hook", filter={"language": ["ml"]})
        b = await add_target(api, f"form://127.0.0.1:{rx_form.port}/hook", filter={"kind": "song"})
        assert (a["service"], a["filter"], a["digest"], b["filter"]) == ("json", {"language": "ml"}, "off",
                                                                         {"kind": "song"})
        await store(db, release(1, title="Aavesham"))
        await rx_json.wait_for(1)
        await store(db, release(2, language="hi", kind="song", title="Jhoome"))
        await rx_form.wait_for(1)
        await store(db, release(3, kind="song", title="Illuminati"))
        await rx_json.wait_for(2)
        await rx_form.wait_for(2)
        await trio.sleep(0.5)  # nothing more comes
    got_json, got_form = messages(rx_json.received), messages(rx_form.received)
    assert [m["title"] for m in got_json] == ["New album: Aavesham", "New song: Illuminati"]
    assert [m["title"] for m in got_form] == ["New song: Jhoome", "New song: Illuminati"]
    assert "Sushin Shyam · Malayalam · 2026-03-01" in got_json[0]["message"]
    assert "https://example.test/1" in got_json[0]["message"]
    assert rx_form.received[0].headers["content-type"].startswith("application/x-www-form-urlencoded")
    states = await db.fetch("SELECT target_id, state, count(*) FROM notify_outbox GROUP BY 1, 2 ORDER BY 1")
    assert [(r["target_id"], r["state"], r["count"]) for r in states] == [(a["id"], "delivered", 2),
                                                                          (b["id"], "delivered", 2)]


async def test_a_burst_of_30_releases_becomes_one_message(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        await add_target(api, f"json://127.0.0.1:{rx.port}/hook")
        await store(db, *(release(n, title=f"Song {n}") for n in range(30)))
        [got] = messages(await rx.wait_for(1))
        await trio.sleep(1.0)  # and nothing after it
        assert len(rx.received) == 1
    assert got["title"] == "30 new Malayalam releases"
    assert got["message"].startswith("30 new Malayalam releases:")
    assert all(f"Song {n} — Sushin Shyam" in got["message"] for n in range(30))


async def test_more_than_a_few_releases_within_the_window_are_folded_into_one(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url, notify_flood_window="3s")) as api:
        await add_target(api, f"json://127.0.0.1:{rx.port}/hook")
        for n in range(3):  # three messages in the window: the flood limit
            await store(db, release(n, title=f"One {n}"))
            await rx.wait_for(n + 1)
        for n in range(3, 10):  # the rest of the window's releases wait for its end
            await store(db, release(n, title=f"Held {n}"))
        await trio.sleep(0.5)
        assert len(rx.received) == 3
        got = messages(await rx.wait_for(4, timeout=10))
        await trio.sleep(0.5)
        assert len(rx.received) == 4
    assert [m["title"] for m in got[:3]] == ["New album: One 0", "New album: One 1", "New album: One 2"]
    assert got[3]["title"] == "7 new Malayalam releases"
    assert all(f"Held {n}" in got[3]["message"] for n in range(3, 10))


async def test_an_ntfy_url_is_accepted_and_its_secrets_never_shown_or_logged(db, db_url):
    out = io.StringIO()
    configure_logging(debug=True, stream=out)
    logging.getLogger("apprise").setLevel(logging.DEBUG)  # Apprise's own lines too
    password, token = "s3cretPassw0rd", "tk_0123456789abcdefghijklmnopq"
    try:
        async with open_receiver() as rx, running_daemon(config(db_url)) as api:
            basic = await add_target(api, f"ntfy://alice:{password}@127.0.0.1:{rx.port}/vibed-releases")
            bearer = await add_target(api, f"ntfy://127.0.0.1:{rx.port}/vibed-other?token={token}")
            assert basic["service"] == "ntfy" and basic["url"] == f"ntfy://alice:****@127.0.0.1:{rx.port}/vibed-releases"
            assert token not in bearer["url"] and "vibed-other" in bearer["url"]
            answers = [await api.client.get("/api/notify/targets"),
                       await api.client.get(f"/api/notify/targets/{basic['id']}"),
                       await api.client.get(f"/api/notify/targets/{bearer['id']}"),
                       await api.client.get("/api/health"), await api.client.get("/metrics")]
            await store(db, release(1, title="Aavesham"))
            got = await rx.wait_for(2)
            # the secrets were used: the receiver saw them, in the headers ntfy's plugin sends
            auth = sorted(r.headers.get("authorization", "") for r in got)
            assert auth[0].startswith("Basic ") and auth[1] == f"Bearer {token}"
            assert all(message(r).get("message", "").startswith("Sushin Shyam") or b"Aavesham" in r.body
                       for r in got)
            # a failing send logs its error: still nothing of the secrets
            rx.stop()
            await store(db, release(2, title="Second"))
            with trio.fail_after(10):
                while "notify_failed" not in out.getvalue():
                    await trio.sleep(0.05)
    finally:
        configure_logging()
        logging.getLogger("apprise").setLevel(logging.NOTSET)
    for answer in answers:
        assert answer.status_code == 200
        assert password not in answer.text and token not in answer.text
    logs = out.getvalue()
    assert "notify_failed" in logs and "apprise" in logs  # Apprise's lines were there to leak, and did not
    assert password not in logs and token not in logs
    assert await db.fetchval("SELECT count(*) FROM notify_targets WHERE url LIKE $1", f"%{password}%") == 1


async def test_bad_targets_are_refused_naming_the_fix(db, db_url):
    async with running_daemon(config(db_url)) as api:
        async def refused(body):
            r = await api.client.post("/api/notify/targets", json=body)
            assert r.status_code == 400 and r.headers["content-type"] == "application/json", r.text
            return r.json()

        unknown = await refused({"url": "nosuch://user:hunter22@example.com/x"})
        assert unknown["error"] == "invalid_body" and "ntfy://" in unknown["detail"] and "hunter22" not in unknown["detail"]
        assert "tz" in (await refused({"url": "json://127.0.0.1:9/x", "tz": "Mars/Olympus"}))["detail"]
        assert "22:00-07:00" in (await refused({"url": "json://127.0.0.1:9/x", "quiet_hours": "late"}))["detail"]
        assert "digest" in (await refused({"url": "json://127.0.0.1:9/x", "digest": "weekly"}))["detail"]
        assert (await refused({"url": "json://127.0.0.1:9/x", "filter": {"language": ["xx"]}}))["error"] == \
            "unknown_language"
        # a watch is refused with the codes every other path gives it (push, webhooks, the listing)
        assert (await refused({"url": "json://127.0.0.1:9/x", "watch": "nope"}))["error"] == "bad_watch"
        assert (await refused({"url": "json://127.0.0.1:9/x", "watch": "A" * 22}))["error"] == "unknown_watch"
        assert (await refused({"url": "json://127.0.0.1:9/x", "watch": "A" * 22, "filter": {"language": ["ml"]}}))[
            "error"] == "watch_and_filter"
        # a self-hosted service's host must be public, as a webhook's (the test allows only 127.0.0.0/8)
        assert "10.1.2.3" in json.dumps(await refused({"url": "json://10.1.2.3/x"}))
        assert (await api.client.get("/api/notify/targets")).json() == {"data": []}


async def test_two_subjects_never_see_or_touch_each_others_targets(db, db_url):
    from vibed.http.auth import issue_token

    secret = "notify-owners-secret-0123456789abcdef-01"

    def bearer(subject: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(secret, ttl=600, subject=subject)}"}

    alice, mallory = bearer("alice"), bearer("mallory")
    async with running_daemon(config(db_url, jwt_secret=secret)) as api:
        assert (await api.client.get("/api/notify/targets")).status_code == 401
        made = await api.client.post("/api/notify/targets", headers=alice,
                                     json={"url": "tgram://123456789:AAbbCCddEEffGGhh/4242"})
        assert made.status_code == 201, made.text
        tid = made.json()["id"]
        assert made.json()["url"] == "tgram://1...h/4242/" and "AAbbCCddEEffGGhh" not in made.text
        assert (await api.client.get("/api/notify/targets", headers=mallory)).json() == {"data": []}
        for answer in (await api.client.get(f"/api/notify/targets/{tid}", headers=mallory),
                       await api.client.delete(f"/api/notify/targets/{tid}", headers=mallory)):
            assert answer.status_code == 404 and answer.json()["error"] == "not_found"
        assert await db.fetchval("SELECT owner FROM notify_targets WHERE id = $1", tid) == "jwt:alice"
        assert (await api.client.delete(f"/api/notify/targets/{tid}", headers=alice)).status_code == 204
        assert (await api.client.get(f"/api/notify/targets/{tid}", headers=alice)).status_code == 404


async def test_a_target_that_follows_a_watch_gets_what_the_watch_matches_as_it_changes(db, db_url):
    from vibed.store import watches

    watch, _token = await watches.create(db, watches.WatchChange(name="mine", languages=["hi"],
                                                                 parts=frozenset({"languages"})))
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        target = await add_target(api, f"json://127.0.0.1:{rx.port}/hook", watch=watch.id)
        assert (target["watch"], target["filter"]) == (watch.id, None)
        await store(db, release(1, title="Malayalam one"))
        await store(db, release(2, language="hi", title="Hindi one"))
        await rx.wait_for(1)
        await watches.update(db, watch.id, watches.WatchChange(languages=["ml"], parts=frozenset({"languages"})))
        await store(db, release(3, title="Malayalam two"))
        await rx.wait_for(2)
        await trio.sleep(0.5)
    assert [m["title"] for m in messages(rx.received)] == ["New album: Hindi one", "New album: Malayalam two"]


async def test_a_slow_target_never_blocks_the_daemon(db, db_url):
    """Apprise is synchronous: while it waits on a target that answers in 3 s, the daemon still answers."""
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        rx.delay = 3.0
        await add_target(api, f"json://127.0.0.1:{rx.port}/hook")
        await store(db, release(1))
        await rx.wait_for(1)  # Apprise is now waiting for the answer
        started = trio.current_time()
        assert (await api.client.get("/api/health")).status_code == 200
        assert trio.current_time() - started < 1.0
        with trio.fail_after(10):
            while await db.fetchval("SELECT state FROM notify_outbox") != "delivered":
                await trio.sleep(0.05)


async def test_ntfys_short_form_is_a_topic_on_ntfy_sh_not_a_host_to_vet(db, db_url):
    # Apprise reads ``ntfy://my-topic`` as the topic "my-topic" on ntfy.sh (its cloud mode): there is no host
    # of the user's to vet.  Read as a URL, "my-topic" looks like a host, which did not resolve: refused.
    async with running_daemon(config(db_url)) as api:
        short = await add_target(api, "ntfy://vibed-my-topic")
        secure = await add_target(api, "ntfys://vibed-my-topic")
        assert short["service"] == "ntfy" and secure["service"] == "ntfys"
        # a host in the URL is still a host of the user's, vetted as before
        r = await api.client.post("/api/notify/targets", json={"url": "ntfy://10.1.2.3/vibed-my-topic"})
        assert r.status_code == 400 and "10.1.2.3" in r.text, r.text
        assert len((await api.client.get("/api/notify/targets")).json()["data"]) == 2
