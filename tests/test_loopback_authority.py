"""Loopback authority: without JWT_SECRET, a browser page on this machine cannot drive the daemon.

What a page can make a browser send is what is refused here, over the daemon's real socket:
a foreign ``Host`` (DNS rebinding), a cross-site ``Origin`` or ``Sec-Fetch-Site``, and a body
that is not declared JSON (``text/plain`` and forms need no CORS preflight).  And what pokes
without a token may cost: a burst, then one per interval.
"""

from __future__ import annotations

import pytest
import trio

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from vibed.http.auth import issue_token
from vibed.http.local_authority import local_host
from vibed.http.poke_budget import BURST, EVERY, PokeBudget

SECRET = "loopback-test-secret-0123456789abcdef"
HOOK = {"url": "http://127.0.0.1:9/hook"}
LOCAL = {"webhook_allow_http": True, "webhook_allow_cidrs": "127.0.0.0/8"}


async def test_a_page_reached_by_dns_rebinding_can_neither_read_nor_poke(db, db_url):
    async with running_daemon(api_config(db_url, **LOCAL, public_url="https://vibed.example")) as api:
        made = await api.client.post("/api/webhooks", json=HOOK)
        assert made.status_code == 201, made.text
        rebound = {"Host": f"attacker.example:{api.port}"}  # its name now resolves to 127.0.0.1
        read = await api.client.get("/api/webhooks", headers=rebound)
        one = await api.client.get(f"/api/webhooks/{made.json()['id']}", headers=rebound)
        poke = await api.client.post("/api/new-releases/fetch", headers=rebound)
        gone = await api.client.delete(f"/api/webhooks/{made.json()['id']}", headers=rebound)
        for r in (read, one, poke, gone):
            assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
            assert "Host 'attacker.example" in r.json()["detail"] and "127.0.0.1:9" not in r.text
        assert await db.fetchval("SELECT count(*) FROM webhooks") == 1
        assert api.runtime.services.control.pending is None  # no round was asked for
        # this machine, however it is named, is still served
        for host in (f"localhost:{api.port}", f"127.0.0.2:{api.port}", f"[::1]:{api.port}", "LOCALHOST",
                     "vibed.example"):
            r = await api.client.get("/api/webhooks", headers={"Host": host})
            assert r.status_code == 200 and r.json()["data"][0]["url"] == HOOK["url"], (host, r.text)


@pytest.mark.parametrize("headers", [
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},  # a sandboxed frame, a file:// page
    {"Origin": "http://localhost:3000"},  # another page on this machine, another port: same-site, not us
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
])
async def test_a_cross_site_page_cannot_poke_subscribe_or_read(db, db_url, headers):
    async with running_daemon(api_config(db_url, **LOCAL, cors_origins="*")) as api:
        poke = await api.client.post("/api/new-releases/fetch", headers=headers)  # a no-cors POST: no body
        made = await api.client.post("/api/webhooks", json=HOOK, headers=headers)
        read = await api.client.get("/api/webhooks", headers=headers)  # CORS * would let the page read it
        for r in (poke, made, read):
            assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
            assert "JWT_SECRET" in r.json()["detail"]
        assert await db.fetchval("SELECT count(*) FROM webhooks") == 0
        assert api.runtime.services.control.pending is None
        # the daemon's own page (same origin) and a terminal (no Origin at all) still may
        own = {"Origin": f"http://127.0.0.1:{api.port}", "Sec-Fetch-Site": "same-origin"}
        assert (await api.client.post("/api/webhooks", json=HOOK, headers=own)).status_code == 201
        assert (await api.client.post("/api/new-releases/fetch", headers={"Sec-Fetch-Site": "none"})).status_code == 202


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
async def test_a_body_that_is_not_declared_json_is_refused_token_or_not(db, db_url, content_type):
    body = b'{"url": "http://127.0.0.1:9/hook"}'  # JSON inside, as a text/plain form would carry it
    headers = {"Content-Type": content_type} if content_type else {}
    async with running_daemon(api_config(db_url, **LOCAL)) as api:
        for path in ("/api/webhooks", "/api/new-releases/fetch"):
            r = await api.client.post(path, content=body, headers=headers)
            assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type", r.text
            assert "Content-Type: application/json" in r.json()["detail"]
        assert await db.fetchval("SELECT count(*) FROM webhooks") == 0
        assert api.runtime.services.control.pending is None
        sent_as_json = {"Content-Type": "application/json; charset=utf-8"}
        assert (await api.client.post("/api/webhooks", content=body, headers=sent_as_json)).status_code == 201
    async with running_daemon(api_config(db_url, **LOCAL, jwt_secret=SECRET)) as api:
        token = {"Authorization": f"Bearer {issue_token(SECRET, ttl=60)}", **headers}
        r = await api.client.post("/api/webhooks", content=body, headers=token)
        assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type", r.text


def test_local_hosts_are_this_machine_and_the_configured_bind_host_only():
    for host in ("localhost", "localhost:5006", "127.0.0.1", "127.8.9.10:80", "[::1]:5006", "[::1]",
                 "localhost.", "vibed.lan:5006"):
        assert local_host(host, ("vibed.lan", "0.0.0.0")), host
    for host in ("attacker.example", "attacker.example:5006", "10.0.0.1", "[::2]:5006", "localhost.attacker.example",
                 "0.0.0.0", "", None, "127.0.0.1.attacker.example"):
        assert not local_host(host, ("0.0.0.0", "")), host
    assert not local_host("0.0.0.0:5006", ("0.0.0.0",))  # a wildcard bind is not a name
    assert local_host("Vibed.Example:443", ("::", "vibed.example"))  # VIBED_PUBLIC_URL's host


async def test_pokes_without_a_token_are_bounded_and_a_token_holder_is_not(db_url):
    async with running_daemon(api_config(db_url)) as api:
        answers = [await api.client.post("/api/new-releases/fetch", json={}) for _ in range(BURST + 2)]
        assert [r.status_code for r in answers] == [202] * BURST + [429, 429], [r.text for r in answers]
        refused = answers[-1]
        assert refused.json()["error"] == "too_many_pokes" and "JWT_SECRET" in refused.json()["detail"]
        assert EVERY - 60 <= int(refused.headers["Retry-After"]) <= EVERY
    async with running_daemon(api_config(db_url, jwt_secret=SECRET)) as api:
        token = {"Authorization": f"Bearer {issue_token(SECRET, ttl=60)}"}
        answers = [await api.client.post("/api/new-releases/fetch", json={}, headers=token) for _ in range(BURST + 2)]
        assert [r.status_code for r in answers] == [202] * (BURST + 2), [r.text for r in answers]


async def test_the_poke_budget_refills_one_per_interval_up_to_its_burst(autojump_clock):
    budget = PokeBudget()
    assert [budget.take_nowait() for _ in range(BURST)] == [None] * BURST
    assert budget.take_nowait() == pytest.approx(EVERY)
    await trio.sleep(EVERY / 2)
    assert budget.take_nowait() == pytest.approx(EVERY / 2)
    await trio.sleep(EVERY / 2)
    assert budget.take_nowait() is None and budget.take_nowait() is not None
    await trio.sleep(100 * EVERY)  # a long quiet spell refills the burst, never more
    assert [budget.take_nowait() is None for _ in range(BURST + 1)] == [True] * BURST + [False]
