"""fetch and serve processes meet over Redis: a round asked of a serve process runs in the fetch process
under the id the asker was given; a fetch process answers health and metrics only; a lost Redis or a
garbled request is logged and survived.  Both daemons run in the test's Trio run on real sockets, one
real PostgreSQL database and one real ``redis-server``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import redis
import trio

from tests.api_support import api_config
from tests.daemon_inproc import InProcessDaemon, running_daemon
from tests.pipeline_support import captured_logs, events_named
from vibed.roles import ROUNDS_CHANNEL
from vibed.store.redis import open_redis

WAIT = 15  # seconds: a generous ceiling on a loaded machine, never a sleep


def listeners(url: str) -> int:
    """Subscribers of the rounds channel, as Redis counts them."""
    with contextlib.closing(redis.Redis.from_url(url, socket_timeout=2)) as client:
        return int(dict(client.pubsub_numsub(ROUNDS_CHANNEL))[ROUNDS_CHANNEL.encode()])


async def wait_for(condition: Any, what: str) -> None:
    with trio.fail_after(WAIT):
        while not await condition():
            await trio.sleep(0.02)


async def subscribed(url: str, count: int = 1) -> None:
    async def check() -> bool:
        return await trio.to_thread.run_sync(listeners, url) == count
    await wait_for(check, f"{count} subscriber(s) of {ROUNDS_CHANNEL}")


async def ran(api: InProcessDaemon, round_id: str) -> Any:
    scheduler = api.runtime.services.pipeline.scheduler

    async def check() -> bool:
        return scheduler.last_round is not None and scheduler.last_round.id == round_id
    await wait_for(check, f"round {round_id}")
    return scheduler.last_round


@contextlib.asynccontextmanager
async def process(db_url: str, role: str, redis_url: str, sim_url: str) -> AsyncIterator[InProcessDaemon]:
    config = api_config(db_url, role=role, redis_url=redis_url, jiosaavn_base_url=sim_url, languages="ml",
                        page_cap=1, api_rate_limit=0)
    async with running_daemon(config) as api:
        yield api


async def test_a_fetch_process_answers_health_and_metrics_only(db_url, redis_server, sim_url):
    async with process(db_url, "fetch", redis_server.url, sim_url) as fetch:
        listing = await fetch.client.get("/api/new-releases")
        control = await fetch.client.post("/api/new-releases/fetch")
        health = await fetch.client.get("/api/health")
        metrics = await fetch.client.get("/metrics")
    assert listing.status_code == 404 and control.status_code == 404
    assert listing.json() == {"error": "not_served_here", "detail": "this is a fetch process (VIBED_ROLE=fetch): "
                              "it answers /api/health and /metrics; ask a serve process"}
    assert health.status_code == 200 and metrics.status_code == 200


async def test_a_round_asked_of_a_serve_process_runs_in_the_fetch_process_under_its_id(db_url, redis_server,
                                                                                       sim_url):
    with captured_logs() as logs:
        async with process(db_url, "fetch", redis_server.url, sim_url) as fetch, \
                process(db_url, "serve", redis_server.url, sim_url) as serve:
            await subscribed(redis_server.url)
            answer = await serve.client.post("/api/new-releases/fetch", json={"languages": ["ml"]})
            assert answer.status_code == 202
            round_id = answer.json()["round_id"]
            progress = await ran(fetch, round_id)
    assert progress.origin == "remote:http"
    assert progress.requests == 1 and progress.errors == 0
    assert events_named(logs, "round_forwarded", round_id=round_id, origin="http")


async def test_without_a_fetch_process_or_redis_the_answer_is_503_saying_why_not_202(db_url, redis_server, sim_url):
    with captured_logs() as logs:
        async with process(db_url, "serve", redis_server.url, sim_url) as serve:
            nobody = await serve.client.post("/api/new-releases/fetch")
            redis_server.kill()
            down = await serve.client.post("/api/new-releases/fetch")
    for answer in (nobody, down):
        assert answer.status_code == 503 and answer.json()["error"] == "round_not_queued", answer.text
        assert answer.headers["Retry-After"] == "5"
    assert nobody.json()["detail"].endswith("no fetch process listens on Redis (start one: vibed run --role fetch)")
    assert "Redis is unavailable" in down.json()["detail"] and redis_server.url in down.json()["detail"]
    [logged] = events_named(logs, "round_not_forwarded")[:1]
    assert logged["error"] == "no fetch process listens on Redis (start one: vibed run --role fetch)"


async def test_a_garbled_round_request_is_ignored_and_the_next_one_runs(db_url, redis_server, sim_url):
    with captured_logs() as logs:
        async with process(db_url, "fetch", redis_server.url, sim_url) as fetch:
            await subscribed(redis_server.url)
            async with open_redis(redis_server.url) as link:
                for garbled in (b"not json", b'{"languages": 5}', b"[1, 2]"):
                    assert await link.publish(ROUNDS_CHANNEL, garbled) == 1
                good = b'{"round_id": "r-remote-1", "origin": "http", "languages": ["ml"], "sources": null}'
                assert await link.publish(ROUNDS_CHANNEL, good) == 1
            progress = await ran(fetch, "r-remote-1")
    assert progress.origin == "remote:http"
    ignored = events_named(logs, "round_request_ignored")
    assert [e["error"].split("(")[0] for e in ignored] == ["JSONDecodeError", "TypeError", "AttributeError"]


async def test_the_fetch_process_subscribes_again_when_redis_comes_back(db_url, redis_server, sim_url):
    with captured_logs() as logs:
        async with process(db_url, "fetch", redis_server.url, sim_url) as fetch:
            await subscribed(redis_server.url)
            redis_server.kill()

            async def warned() -> bool:
                return bool(events_named(logs, "round_requests_unavailable", retry_in=1.0))
            await wait_for(warned, "round_requests_unavailable")
            redis_server.start()  # the same port
            await subscribed(redis_server.url)
            async with open_redis(redis_server.url) as link:
                await link.publish(ROUNDS_CHANNEL, b'{"round_id": "r-after-outage", "origin": "http"}')
            progress = await ran(fetch, "r-after-outage")
    assert progress.origin == "remote:http"
    # the outage was told once (not once a second) and its end once
    [warned] = events_named(logs, "round_requests_unavailable")
    [ended] = events_named(logs, "outage_recovered", outage="round_requests_unavailable")
    assert ended["failures"] >= warned["failures"] == 1 and ended["outage_s"] >= 0
