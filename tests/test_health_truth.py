"""Health tells the truth: failing, blocked and suspiciously empty sources make the daemon
``degraded`` with a reason each, and ``vibed status`` exits 1 then."""

from __future__ import annotations

import subprocess

import httpx
import pytest
import trio

from tests.daemon_inproc import running_daemon
from tests.daemon_proc import VIBED, clean_env
from tests.pipeline_support import (
    captured_logs,
    daemon_config,
    events_named,
    quiet_sim_settings,
)
from vibed.cli.status import render_status
from vibed.health import BusHealth, DeliveryHealth, HealthReport, StreamsHealth, without_addresses
from vibed.health.render import to_json
from vibed.pipeline.health import SUSPECT_AFTER
from vibed.simulator import SimSettings


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


async def health(daemon) -> tuple[int, dict]:
    port = daemon.port
    async with httpx.AsyncClient() as client:
        answer = await client.get(f"http://127.0.0.1:{port}/api/health")
    return answer.status_code, answer.json()


async def pass_backoff(db) -> None:
    await db.execute("UPDATE fetch_state SET backoff_until = now() - interval '1 second'")


async def vibed_status(port: int) -> subprocess.CompletedProcess[str]:
    return await trio.to_thread.run_sync(lambda: subprocess.run(
        [*VIBED, "status"], env=clean_env(PORT=str(port)), capture_output=True, text=True, timeout=30))


async def test_suspicious_emptiness_backs_off_warns_and_degrades(db, db_url, sim_url, sim) -> None:
    async with running_daemon(daemon_config(db_url, sim_url, languages="ml")) as daemon:
        await daemon.round()
        status, body = await health(daemon)
        assert (status, body["status"], body["reasons"]) == (200, "ok", [])
        await sim.inject("empty", language="ml")
        with captured_logs() as logs:
            for _ in range(SUSPECT_AFTER):
                await pass_backoff(db)
                await daemon.round()
        assert len(events_named(logs, "fetch_suspect_empty", language="ml")) == 1
        backoff = await db.fetchval("SELECT backoff_until > now() FROM fetch_state WHERE scope = 'ml'")
        assert backoff, "suspicion backs off like any other upstream trouble"
        status, body = await health(daemon)
        assert status == 200 and body["status"] == "degraded"
        assert any(r.startswith("jiosaavn/ml: blocked by upstream") for r in body["reasons"]), body["reasons"]
        done = await vibed_status(daemon.port)
        assert done.returncode == 1 and "DEGRADED" in done.stdout and "reason     jiosaavn/ml" in done.stdout
        await sim.clear_faults()
        await pass_backoff(db)
        await daemon.round()
        status, body = await health(daemon)
        assert body["status"] == "ok", body["reasons"]


async def test_a_source_failing_three_runs_in_a_row_degrades_with_its_reason(db, db_url, sim_url, sim) -> None:
    async with running_daemon(daemon_config(db_url, sim_url, languages="ml,hi")) as daemon:
        await sim.inject("status_5xx", language="hi")
        for _ in range(3):
            await pass_backoff(db)
            await daemon.round()
        status, body = await health(daemon)
        assert status == 200 and body["status"] == "degraded"
        assert any(r.startswith("jiosaavn/hi: failed 3 runs in a row (upstream_error:") for r in body["reasons"]), \
            body["reasons"]
        assert not any(r.startswith("jiosaavn/ml") for r in body["reasons"])


def test_status_counts_stream_clients_of_both_kinds() -> None:
    streams = DeliveryHealth(BusHealth("local", "ok"), StreamsHealth(sse=3, websocket=2, max=0, slow_disconnects=0,
                                                                   last_event_id=0))
    text = render_status(HealthReport("0.1.0", "all", 1.0, True, False, {}, delivery=streams))
    assert "clients    5 connected (3 SSE, 2 WebSocket)" in text


async def test_status_shows_a_connected_stream_client(db_url, sim_url) -> None:
    async with running_daemon(daemon_config(db_url, sim_url, languages="ml")) as daemon:
        port = daemon.port
        with trio.socket.socket() as sock:
            await sock.connect(("127.0.0.1", port))
            await sock.send(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
            assert b"200" in (await sock.recv(4096)).split(b"\r\n")[0]
            hub = daemon.runtime.services.delivery.delivery.hub
            with trio.fail_after(5):
                while hub.statistics().sse_clients < 1:
                    await trio.sleep(0.02)
            done = await vibed_status(port)
    assert "clients    1 connected (1 SSE, 0 WebSocket)" in done.stdout, done.stdout


def test_a_token_longer_than_the_maximum_lifetime_is_not_issued(tmp_path) -> None:
    done = subprocess.run([*VIBED, "token", "--ttl", "2d"], cwd=tmp_path, capture_output=True, text=True,
                          env=clean_env(JWT_SECRET="token-test-secret-0123456789abcdef-xyz"), timeout=30)
    assert done.returncode == 2 and "longer than VIBED_JWT_MAX_TTL" in done.stderr and not done.stdout


async def test_health_names_the_role_and_an_empty_bucket_is_a_reason(db, db_url, sim_url) -> None:
    from vibed.store import bucket

    async with running_daemon(daemon_config(db_url, sim_url, languages="ml")) as daemon:
        await daemon.round()
        status, body = await health(daemon)
        assert (status, body["status"], body["role"], body["reasons"]) == (200, "ok", "all", [])
        assert body["edge"]["port"] == daemon.port  # the edge reports too: where it listens, its held answers
        await bucket.change(db, "jiosaavn", tokens=0)
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "degraded")
        assert [r for r in body["reasons"] if r.startswith("bucket jiosaavn: empty (0 of ")], body["reasons"]


async def test_a_deployment_that_has_not_fetched_for_stale_after_is_degraded(db, db_url, sim_url) -> None:
    async with running_daemon(daemon_config(db_url, sim_url, languages="ml", stale_after="1h")) as daemon:
        await daemon.round()
        status, body = await health(daemon)
        assert body["status"] == "ok" and body["fetch"]["last_success_age_s"] < 60, body
        # the deployment's record, as any other process of it would have left it: read from the database
        await db.execute("UPDATE fetch_state SET last_success = now() - interval '2 hours'")
        status, body = await health(daemon)
        assert (status, body["status"]) == (200, "degraded")
        assert body["reasons"] == ["fetch: no fetch has succeeded anywhere in the deployment for 2h00m "
                                   "(VIBED_STALE_AFTER=1h00m)"], body["reasons"]


def test_public_health_never_shows_the_redis_address() -> None:
    bus = BusHealth("redis", "degraded", without_addresses("Error 111 connecting to 127.0.0.1:6379. Connection refused."))
    streams = StreamsHealth(sse=0, websocket=0, max=0, slow_disconnects=0, last_event_id=0)
    body = to_json(HealthReport("0.1.0", "serve", 1.0, True, False, {}, delivery=DeliveryHealth(bus, streams)))
    assert "6379" not in str(body) and "127.0.0.1" not in str(body)
    assert body["bus"]["error"] == "Error 111 connecting to …. Connection refused."
