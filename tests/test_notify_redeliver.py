"""A notification target's operator surface, end to end: its message log, redelivery, and the resume of a
paused target — over a live daemon, a real PostgreSQL and Apprise sending to a receiver on a real socket.

The SQL under both endpoints is the outbox core's (vibed/store/outbox_log.py), the webhooks' too.
"""

from __future__ import annotations

import io

import trio

from tests.api_support import conforms, release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, messages
from tests.webhook_receiver import open_receiver
from vibed.http.auth import issue_token
from vibed.logs import configure_logging

SECRET = "notify-redeliver-secret-0123456789abcdef"


def bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, ttl=600, subject=subject)}"}


async def log_of(api, target_id: int, **params) -> list[dict]:
    r = await api.client.get(f"/api/notify/targets/{target_id}/deliveries", params=params)
    assert r.status_code == 200, r.text
    return r.json()["data"]


async def target(api, target_id: int) -> dict:
    r = await api.client.get(f"/api/notify/targets/{target_id}")
    assert r.status_code == 200, r.text
    return r.json()


async def wait_until(predicate, timeout: float = 20.0) -> None:
    with trio.fail_after(timeout):
        while not await predicate():
            await trio.sleep(0.05)


async def test_a_paused_target_is_resumed_by_redeliver_and_gets_its_dead_releases_once_in_order(db, db_url):
    failing = {"on": True}

    def answer(_):
        return (500, []) if failing["on"] else (200, [])

    out = io.StringIO()
    configure_logging(stream=out)
    try:
        # the waits below poll the API 20 times a second: past the default 120 a minute (a slow machine) they
        # would meet a 429 instead of the state they wait for; the limit stays on (its headers are checked)
        async with open_receiver(answer) as rx, running_daemon(config(
                db_url, notify_retry_schedule="0.2s", notify_pause_after=3, api_rate_limit=100_000)) as api:
            made = await add_target(api, f"json://127.0.0.1:{rx.port}/hook")
            tid = made["id"]
            await store(db, release(1, title="First"))  # two failed attempts: dead (failures in a row: 2)
            await wait_until(lambda: _has(api, tid, "dead"))
            await store(db, release(2, title="Second"))  # one more failed message: the target pauses
            await wait_until(lambda: _paused(api, tid))
            second, first = await log_of(api, tid)  # newest first
            assert (first["event_id"] < second["event_id"]) and (first["state"], first["attempts"]) == ("dead", 2)
            assert (second["state"], second["attempts"]) == ("pending", 1)
            assert first["last_error"] and first["message_id"] is None and first["next_attempt_at"] is None
            answer_text = (await api.client.get(f"/api/notify/targets/{tid}/deliveries")).text
            assert f"127.0.0.1:{rx.port}" not in answer_text and "json://" not in answer_text  # never the URL
            assert [r["id"] for r in await log_of(api, tid, state="dead")] == [first["id"]]
            assert [r["id"] for r in await log_of(api, tid, before=second["id"])] == [first["id"]]
            assert [r["id"] for r in await log_of(api, tid, limit=1)] == [second["id"]]
            health = (await api.client.get("/api/health")).json()
            assert health["notify_targets"]["paused"] == [tid] and health["notify_targets"]["dead"] == 1
            assert f"POST /api/notify/targets/{tid}/redeliver resumes it" in " ".join(health["reasons"])
            await trio.sleep(1.0)  # an absence: five retry periods, twenty looks at the outbox, pass
            assert [r["attempts"] for r in await log_of(api, tid, state="pending")] == [1]  # paused: not tried

            failing["on"] = False
            r = await api.client.post(f"/api/notify/targets/{tid}/redeliver")
            assert r.status_code == 202 and r.json() == {"requeued": 1, "resumed": True}, r.text
            assert r.headers["Cache-Control"] == "no-store"
            assert not (await target(api, tid))["paused"]  # resumed at once
            [got] = messages(await rx.wait_for(1))
            await wait_until(lambda: _all_delivered(api, tid))
            await trio.sleep(0.5)  # and nothing after it
            assert len(rx.received) == 1
            rows = sorted(await log_of(api, tid), key=lambda row: row["id"])
            assert {row["message_id"] for row in rows} == {rows[0]["id"]}  # one message carried both
            now = await target(api, tid)
            assert (now["paused"], now["paused_reason"], now["consecutive_failures"]) == (False, None, 0)
            assert (await api.client.get("/api/health")).json()["notify_targets"]["paused"] == []
            doc = (await api.client.get("/openapi.json")).json()
            conforms(doc, "/api/notify/targets/{id}/deliveries", "get",
                     await api.client.get(f"/api/notify/targets/{tid}/deliveries"))
            conforms(doc, "/api/notify/targets/{id}/redeliver", "post",
                     await api.client.post(f"/api/notify/targets/{tid}/redeliver", json={}))
    finally:
        configure_logging()
    assert got["title"] == "2 new Malayalam releases"
    assert got["message"].index("First") < got["message"].index("Second")  # in event order
    [paused_line] = [line for line in out.getvalue().splitlines() if "notify_target_paused" in line]
    assert "POST /api/notify/targets/{id}/redeliver resumes it" in paused_line


async def test_one_owner_never_sees_or_redelivers_anothers_and_bad_requests_are_4xx_json(db, db_url):
    alice, mallory = bearer("alice"), bearer("mallory")
    async with open_receiver() as rx, running_daemon(config(db_url, jwt_secret=SECRET)) as api:
        get, post = api.client.get, api.client.post
        assert (await get("/api/notify/targets/1/deliveries")).status_code == 401
        assert (await post("/api/notify/targets/1/redeliver")).status_code == 401
        made = await post("/api/notify/targets", headers=alice, json={
            "url": f"json://alice:pw-s3cret@127.0.0.1:{rx.port}/hook", "filter": {"language": ["hi"]}})
        assert made.status_code == 201, made.text
        tid = made.json()["id"]
        await store(db, release(1, title="Dead one"))  # Malayalam: not this target's; made dead by hand below
        row = await db.fetchval("""INSERT INTO notify_outbox (target_id, event_id, state, attempts, last_error)
                                   SELECT $1, id, 'dead', 5, 'answered 500' FROM events RETURNING id""", tid)
        for answer in (await get(f"/api/notify/targets/{tid}/deliveries", headers=mallory),
                       await post(f"/api/notify/targets/{tid}/redeliver", json={}, headers=mallory),
                       await post(f"/api/notify/targets/{tid}/redeliver", json={"ids": [row]}, headers=mallory),
                       await get("/api/notify/targets/987654/deliveries", headers=alice),
                       await post("/api/notify/targets/987654/redeliver", headers=alice)):
            assert answer.status_code == 404 and answer.json()["error"] == "not_found", answer.text
            assert "s3cret" not in answer.text
        assert await db.fetchval("SELECT state FROM notify_outbox WHERE id = $1", row) == "dead"  # untouched
        bad = [(await get(f"/api/notify/targets/{tid}/deliveries", params=params, headers=alice), code)
               for params, code in (({"state": "lost"}, "invalid_parameter"), ({"limit": "0"}, "invalid_parameter"),
                                    ({"before": "x"}, "invalid_parameter"))]
        bad += [(await post(f"/api/notify/targets/{tid}/redeliver", json=body, headers=alice), code)
                for body, code in (({"ids": []}, "invalid_body"), ({"ids": ["7"]}, "invalid_body"),
                                   ({"ids": [True]}, "invalid_body"), ({"again": 1}, "invalid_body"),
                                   ([row], "invalid_body"))]
        bad.append((await post(f"/api/notify/targets/{tid}/redeliver", content=b"{nope", headers={
            **alice, "Content-Type": "application/json"}), "invalid_json"))
        bad.append((await get("/api/notify/targets/abc/deliveries", headers=alice), "invalid_parameter"))
        for answer, code in bad:
            assert answer.status_code == 400 and answer.json()["error"] == code, answer.text
            assert answer.headers["content-type"] == "application/json"
        assert await db.fetchval("SELECT state FROM notify_outbox WHERE id = $1", row) == "dead"
        [logged] = (await get(f"/api/notify/targets/{tid}/deliveries", headers=alice)).json()["data"]
        assert (logged["id"], logged["state"], logged["attempts"], logged["last_error"]) == (
            row, "dead", 5, "answered 500")
        named = await post(f"/api/notify/targets/{tid}/redeliver", json={"ids": [row]}, headers=alice)
        assert named.status_code == 202 and named.json()["requeued"] == 1, named.text
        [got] = messages(await rx.wait_for(1))
        assert got["title"] == "New album: Dead one"
        assert rx.received[0].headers["authorization"].startswith("Basic ")  # the credentials were used
        assert (await get(f"/api/notify/targets/{tid}/deliveries", headers=mallory)).status_code == 404


async def _has(api, tid: int, state: str) -> bool:
    return bool(await log_of(api, tid, state=state))


async def _paused(api, tid: int) -> bool:
    return bool((await target(api, tid))["paused"])


async def _all_delivered(api, tid: int) -> bool:
    rows = await log_of(api, tid)
    return len(rows) == 2 and all(row["state"] == "delivered" for row in rows)
