"""Webhooks end to end: a live daemon, a real PostgreSQL, a real receiver on a real socket.

Releases are stored through ``write_batch`` — the writer's own transaction, which writes the
outbox rows with the events — and the daemon's sender delivers them.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import httpx
import trio
from standardwebhooks.webhooks import Webhook

from tests.api_support import api_config, conforms, release, store
from tests.daemon_inproc import running_daemon
from tests.daemon_proc import free_port
from tests.webhook_receiver import open_receiver
from vibed.http.auth import issue_token
from vibed.vocab.release_filter import EVERYTHING
from vibed.webhooks import outbox as webhook_outbox
from vibed.webhooks import subscriptions as webhooks

SECRET = "webhook-test-secret-0123456789abcdef"
LOCAL = {"webhook_allow_http": True, "webhook_allow_cidrs": "127.0.0.0/8"}  # the receiver is on loopback
# retries due in 0.3 s, and looked for every 0.05 s (the default 1 s would make each retry wait for it)
FAST = {"webhook_retry_schedule": "0.3s,0.3s,0.3s,0.3s,0.3s,0.3s,0.3s,0.3s,0.3s,0.3s", "webhook_poll": 0.05}


def config(db_url, **overrides):
    return api_config(db_url, **{**LOCAL, **FAST, **overrides})


async def subscribe(api, url: str, **filters) -> dict:
    r = await api.client.post("/api/webhooks", json={"url": url, **filters})
    assert r.status_code == 201, r.text
    return r.json()


async def deliveries(api, webhook_id: int, **params) -> list[dict]:
    r = await api.client.get(f"/api/webhooks/{webhook_id}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def wait_until(predicate, timeout: float = 15.0) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.1)


async def test_a_release_reaches_the_subscriber_signed_so_the_standard_verifier_accepts_it(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        hook = await subscribe(api, rx.url, language=["ml"])
        assert hook["secret"].startswith("whsec_") and hook["format"] == "generic"
        await store(db, release(1, title="Aavesham"), release(2, language="hi"))
        got = (await rx.wait_for(1))[0]
        # the hi release never follows: it has no outbox row (written with the events, filtered there)
        assert await db.fetchval("SELECT count(*) FROM webhook_outbox WHERE webhook_id = $1", hook["id"]) == 1
        await wait_until(lambda: _state(api, hook["id"], "delivered"))
        assert len(rx.received) == 1
        body = Webhook(hook["secret"]).verify(got.body, got.headers)
        assert body["type"] == "release.new" and body["data"]["title"] == "Aavesham"
        assert body["data"]["language"] == "ml" and got.headers["content-type"] == "application/json"
        assert got.headers["webhook-id"].startswith("msg_") and got.method == "POST" and got.target == "/hook"
        [log] = await deliveries(api, hook["id"])
        assert (log["state"], log["attempts"], log["last_status"], log["webhook_id"]) == (
            "delivered", 1, 200, got.headers["webhook-id"])
        listed = (await api.client.get("/api/webhooks")).json()["data"]
        assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]


async def test_a_receiver_down_then_up_gets_everything_once_in_order(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        hook = await subscribe(api, rx.url)
        rx.stop()  # down: connections refused
        for n in range(8):
            await store(db, release(n, title=f"T{n}"))
        await wait_until(lambda: _attempted(api, hook["id"], 3))  # the head was tried, and failed, again and again
        assert rx.received == []
        await rx.start()  # up again, same port
        await rx.wait_for(8)
        await wait_until(lambda: _all_delivered(api, hook["id"], 8))  # nothing left to send (again)
    ids = [r.headers["webhook-id"] for r in rx.received]
    events = [json.loads(r.body)["data"]["title"] for r in rx.received]
    assert len(ids) == len(set(ids)) == 8  # once each
    assert events == [f"T{n}" for n in range(8)]  # in event order


async def _all_delivered(api, webhook_id: int, count: int) -> bool:
    return len(await deliveries(api, webhook_id, state="delivered")) == count


async def _attempted(api, webhook_id: int, attempts: int) -> bool:
    """``attempts`` claimed, and a failure recorded (a claim counts the attempt before it is made)."""
    rows = await deliveries(api, webhook_id, state="pending")
    return any(r["attempts"] >= attempts and r["last_error"] is not None for r in rows)


async def test_a_503_with_retry_after_is_retried_no_sooner_than_it_asks(db, db_url):
    answers = iter([(503, [("Retry-After", "1")])])

    def answer(_):
        return next(answers, (200, []))

    async with open_receiver(answer) as rx, running_daemon(config(db_url)) as api:
        hook = await subscribe(api, rx.url)
        await store(db, release(1))
        started = trio.current_time()
        await rx.wait_for(1)
        assert trio.current_time() - started >= 0.95  # not the schedule's 0.3 s
        [log] = await deliveries(api, hook["id"])
        assert log["attempts"] == 2 and log["state"] == "delivered"


async def test_a_failing_target_is_dead_lettered_paused_shown_in_health_and_redelivered(db, db_url):
    failing = {"on": True}

    def answer(_):
        return (500, []) if failing["on"] else (200, [])

    async with open_receiver(answer) as rx, running_daemon(config(
            db_url, webhook_retry_schedule="0.2s,0.2s", webhook_pause_after=3)) as api:
        hook = await subscribe(api, rx.url, format="slack")
        await store(db, release(1), release(2))
        await wait_until(lambda: _state(api, hook["id"], "dead"))
        [dead] = await deliveries(api, hook["id"], state="dead")
        assert dead["attempts"] == 3 and dead["last_status"] == 500 and dead["last_error"] == "answered 500"
        health = (await api.client.get("/api/health")).json()
        assert health["status"] == "degraded" and health["webhooks"]["paused"] == [hook["id"]]
        assert any(f"webhook {hook['id']}: paused" in r for r in health["reasons"])
        assert rx.url not in json.dumps(health)  # a webhook URL can be a credential
        [one] = (await api.client.get("/api/webhooks")).json()["data"]
        assert one["paused"] and "3 failed attempts in a row" in one["paused_reason"] and one["dead"] == 1
        metrics = (await api.client.get("/metrics")).text
        assert "vibed_webhook_dead_lettered_total 1.0" in metrics and "vibed_webhook_targets_paused 1.0" in metrics
        assert 'vibed_webhook_attempts_total{outcome="failed"} 3.0' in metrics
        attempts = [r["attempts"] for r in await deliveries(api, hook["id"], state="pending")]
        await trio.sleep(1.0)  # an absence: five retry periods, twenty looks at the outbox, pass
        # paused: not tried any more
        assert [r["attempts"] for r in await deliveries(api, hook["id"], state="pending")] == attempts == [0]
        failing["on"] = False
        r = await api.client.post(f"/api/webhooks/{hook['id']}/redeliver")
        assert r.status_code == 202 and r.json()["requeued"] == 1
        await rx.wait_for(2)
        assert [json.loads(x.body)["blocks"][0]["type"] for x in rx.received] == ["section", "section"]
        assert [x.headers["webhook-id"] for x in rx.received] == [f"msg_{dead['id']}", f"msg_{dead['id'] + 1}"]
        assert (await api.client.get("/api/health")).json()["webhooks"]["paused"] == []


async def test_a_410_gone_pauses_the_target_at_once_keeps_its_line_and_counts_in_metrics(db, db_url):
    gone = {"on": True}

    def answer(_):
        return (410, []) if gone["on"] else (200, [])

    async with open_receiver(answer) as rx, running_daemon(config(db_url)) as api:
        hook = await subscribe(api, rx.url)
        await store(db, release(1), release(2))
        await wait_until(lambda: _paused(api, hook["id"]))
        [one] = (await api.client.get("/api/webhooks")).json()["data"]
        assert one["paused_reason"] == "answered 410 Gone: the target asks to be unsubscribed"
        rows = sorted(await deliveries(api, hook["id"]), key=lambda r: r["id"])
        # one attempt, not the schedule's ten; nothing dead-lettered, the head still first in line
        assert [(r["state"], r["attempts"], r["last_status"]) for r in rows] == [
            ("pending", 1, 410), ("pending", 0, None)]
        health = (await api.client.get("/api/health")).json()
        assert health["status"] == "degraded" and health["webhooks"]["paused"] == [hook["id"]]
        metrics = (await api.client.get("/metrics")).text
        assert 'vibed_webhook_attempts_total{outcome="failed"} 1.0' in metrics
        assert 'vibed_webhook_attempts_total{outcome="delivered"} 0.0' in metrics
        assert "vibed_webhook_dead_lettered_total 0.0" in metrics
        assert 'vibed_webhook_deliveries{state="pending"} 2.0' in metrics
        assert "vibed_webhook_targets_paused 1.0" in metrics
        gone["on"] = False  # the receiver wants them after all
        r = await api.client.post(f"/api/webhooks/{hook['id']}/redeliver")
        assert r.status_code == 202
        await rx.wait_for(2)
        await wait_until(lambda: _all_delivered(api, hook["id"], 2))
        metrics = (await api.client.get("/metrics")).text
        assert 'vibed_webhook_attempts_total{outcome="delivered"} 2.0' in metrics
        assert 'vibed_webhook_deliveries{state="pending"} 0.0' in metrics
        assert "vibed_webhook_targets_paused 0.0" in metrics


async def _paused(api, webhook_id: int) -> bool:
    [one] = [h for h in (await api.client.get("/api/webhooks")).json()["data"] if h["id"] == webhook_id]
    return bool(one["paused"])


async def _state(api, webhook_id: int, state: str) -> bool:
    return bool(await deliveries(api, webhook_id, state=state))


async def _none_pending(api, webhook_id: int) -> bool:
    return bool(await deliveries(api, webhook_id)) and not await deliveries(api, webhook_id, state="pending")


async def test_ssrf_targets_are_refused_at_subscription_and_at_send_time(db, db_url):
    redirect = {"to": "http://169.254.169.254/latest/meta-data/"}

    def answer(_):
        return (302, [("Location", redirect["to"])])

    async with open_receiver(answer) as rx:
        async with running_daemon(api_config(db_url)) as api:  # the defaults: https only, public addresses only
            for url in ("http://127.0.0.1/hook", "https://127.0.0.1/hook", "https://169.254.169.254/latest",
                        "https://[::1]/x", "https://10.0.0.8/x", "file:///etc/passwd"):
                r = await api.client.post("/api/webhooks", json={"url": url})
                assert r.status_code == 400, url
                assert "VIBED_WEBHOOK_ALLOW" in r.json()["detail"] or "https" in r.json()["detail"], r.text
        # http allowed but no network: a DNS name that resolves to loopback is refused when sending
        async with running_daemon(api_config(db_url, webhook_allow_http=True, **FAST)) as api:
            hook = await subscribe(api, f"http://localhost:{rx.port}/hook")
            await store(db, release(1))
            await wait_until(lambda: _attempted(api, hook["id"], 1))
            [log] = await deliveries(api, hook["id"])
            assert "refused" in log["last_error"] and "loopback" in log["last_error"]
            assert log["last_status"] is None
            await api.client.delete(f"/api/webhooks/{hook['id']}")
        # the receiver allowed, but it redirects to the metadata address: not followed
        async with running_daemon(config(db_url)) as api:
            hook = await subscribe(api, rx.url)
            await store(db, release(2))
            await wait_until(lambda: _attempted(api, hook["id"], 1))
            [log] = await deliveries(api, hook["id"])
            assert log["last_status"] == 302 and "redirects are never followed" in log["last_error"]
    assert rx.received == []


async def test_subscriptions_need_the_control_jwt_and_bodies_are_checked(db_url):
    async with running_daemon(config(db_url, jwt_secret=SECRET)) as api:
        assert (await api.client.post("/api/webhooks", json={"url": "https://example.com/h"})).status_code == 401
        assert (await api.client.get("/api/webhooks")).status_code == 401
        assert (await api.client.delete("/api/webhooks/1")).status_code == 401
        auth = {"Authorization": f"Bearer {issue_token(SECRET, ttl=600)}"}
        bad = {"url": "https://example.com/h", "colour": "red"}
        for body, word in ((bad, "colour"), ({"url": "https://example.com/h", "language": ["xx"]}, "language"),
                           ({"url": "https://example.com/h", "format": "teams"}, "format"),
                           ({"url": "https://example.com/h", "kind": "playlist"}, "kind"), ({}, "url")):
            r = await api.client.post("/api/webhooks", json=body, headers=auth)
            assert r.status_code == 400 and word in r.json()["detail"], r.text
        r = await api.client.post("/api/webhooks", headers=auth, json={
            "url": "https://example.com/h", "language": "ml,hi", "source": "jiosaavn", "kind": "album",
            "format": "discord"})
        assert r.status_code == 201, r.text
        doc = (await api.client.get("/openapi.json")).json()
        conforms(doc, "/api/webhooks", "post", r)
        hook = r.json()
        conforms(doc, "/api/webhooks", "get", await api.client.get("/api/webhooks", headers=auth))
        conforms(doc, "/api/webhooks/{id}/deliveries", "get",
                 await api.client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=auth))
        conforms(doc, "/api/webhooks/{id}/redeliver", "post",
                 await api.client.post(f"/api/webhooks/{hook['id']}/redeliver", headers=auth))
        conforms(doc, "/api/webhooks", "post", await api.client.post("/api/webhooks", json={}, headers=auth))
        assert (hook["language"], hook["source"], hook["kind"], hook["format"]) == (["hi", "ml"], "jiosaavn",  # a set: sorted
                                                                                   "album", "discord")
        assert r.headers["Cache-Control"] == "no-store"
        assert (await api.client.get(f"/api/webhooks/{hook['id']}", headers=auth)).json()["url"] == "https://example.com/h"
        assert (await api.client.delete(f"/api/webhooks/{hook['id']}", headers=auth)).status_code == 204
        assert (await api.client.delete(f"/api/webhooks/{hook['id']}", headers=auth)).status_code == 404
        assert (await api.client.get(f"/api/webhooks/{hook['id']}/deliveries", headers=auth)).status_code == 404


async def test_the_readme_receiver_verifies_a_real_delivery_and_refuses_a_forged_one(db, db_url, tmp_path):
    readme = await (trio.Path(__file__).parent.parent / "README.md").read_text()
    code = next(block for block in re.findall(r"```python\n(.*?)```", readme, re.S) if "standardwebhooks" in block)
    assert len(code.strip().splitlines()) <= 11  # "a receiver, in ten lines" (+ its comment)
    port = free_port()
    await trio.Path(tmp_path / "receiver.py").write_text(code.replace('("", 8080)', f'("127.0.0.1", {port})'))
    async with running_daemon(config(db_url)) as api:
        hook = await subscribe(api, f"http://127.0.0.1:{port}/")
        process = await trio.lowlevel.open_process(
            [sys.executable, "-u", str(tmp_path / "receiver.py")], env={"WEBHOOK_SECRET": hook["secret"]},
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        try:
            async with httpx.AsyncClient() as client:
                with trio.fail_after(10):
                    while True:
                        try:
                            forged = await client.post(f"http://127.0.0.1:{port}/", content=b"{}", headers={
                                "webhook-id": "msg_1", "webhook-timestamp": "1", "webhook-signature": "v1,AAAA"})
                            break
                        except httpx.ConnectError:
                            await trio.sleep(0.1)
            assert forged.status_code == 401
            await store(db, release(1, title="Readme Premiere"))
            await wait_until(lambda: _state(api, hook["id"], "delivered"))
            [log] = await deliveries(api, hook["id"])
            assert log["last_status"] == 204
            with trio.fail_after(5):
                printed = await process.stdout.receive_some(4096)
            assert printed.decode().strip() == f"{log['webhook_id']} Readme Premiere"
        finally:
            process.kill()
            await process.wait()


async def test_delivered_rows_past_the_retention_are_pruned_and_the_rest_stay(db):
    hook = await webhooks.create(db, url="https://example.com/h", release_filter=EVERYTHING,
                                 format="generic", secret="whsec_AAAA", owner="local")
    await store(db, release(1), release(2), release(3))
    ids = [r["id"] for r in await db.fetch("SELECT id FROM webhook_outbox WHERE webhook_id = $1 ORDER BY id",
                                            hook["id"])]
    await db.execute("UPDATE webhook_outbox SET state = 'delivered', delivered_at = now() - interval '8 days' "
                     "WHERE id = $1", ids[0])
    await db.execute("UPDATE webhook_outbox SET state = 'delivered', delivered_at = now() - interval '6 days' "
                     "WHERE id = $1", ids[1])
    await db.execute("UPDATE webhook_outbox SET state = 'dead' WHERE id = $1", ids[2])
    assert await webhook_outbox.prune(db, 7 * 86400) == 1
    left = await db.fetch("SELECT id FROM webhook_outbox ORDER BY id")
    assert [r["id"] for r in left] == ids[1:]


async def test_a_target_answering_megabytes_is_read_no_further_than_the_limit_and_delivered(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        rx.body = b"x" * (4 * 1024 * 1024)  # 64 times ANSWER_LIMIT: the sender stops reading, cleanly
        hook = await subscribe(api, rx.url)
        await store(db, release(1), release(2))
        await wait_until(lambda: _none_pending(api, hook["id"]))
        logs = await deliveries(api, hook["id"])
        assert [(d["state"], d["attempts"], d["last_status"]) for d in logs] == [("delivered", 1, 200)] * 2
        assert len(rx.received) == 2
