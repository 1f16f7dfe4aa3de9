"""The per-client limit is one count across instances when they share a Redis; without Redis, local."""

from __future__ import annotations

import trio

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from tests.pipeline_support import captured_logs, events_named


async def test_two_daemons_sharing_redis_share_one_count_per_client(db_url, redis_server):
    config = {"api_rate_limit": 4, "redis_url": redis_server.url}
    async with running_daemon(api_config(db_url, **config)) as a, running_daemon(api_config(db_url, **config)) as b:
        answers = []
        for api in (a, b, a, b, b, a):
            answers.append(await api.client.get("/api/rate-limit"))
    assert [r.status_code for r in answers] == [200, 200, 200, 200, 429, 429]
    assert [r.headers["RateLimit-Remaining"] for r in answers[:4]] == ["3", "2", "1", "0"]
    assert 1 <= int(answers[4].headers["Retry-After"]) <= 15  # 4 per minute: one back every 15 s


async def test_concurrent_requests_on_two_instances_never_overspend(db_url, redis_server):
    config = {"api_rate_limit": 10, "redis_url": redis_server.url}
    async with running_daemon(api_config(db_url, **config)) as a, running_daemon(api_config(db_url, **config)) as b:
        statuses: list[int] = []

        async def hit(api) -> None:
            statuses.append((await api.client.get("/api/rate-limit")).status_code)

        async with trio.open_nursery() as nursery:
            for i in range(30):
                nursery.start_soon(hit, (a, b)[i % 2])
    assert statuses.count(200) == 10 and statuses.count(429) == 20


async def test_redis_down_falls_back_to_the_in_process_limit_and_its_return_is_logged(db_url, redis_server):
    with captured_logs() as logs:
        async with running_daemon(api_config(db_url, api_rate_limit=2, redis_url=redis_server.url)) as api:
            redis_server.kill()
            answers = [await api.client.get("/api/new-releases") for _ in range(3)]
            redis_server.start()
            with trio.fail_after(15):  # past the breaker (5 s) a request asks Redis again, and it answers
                while not events_named(logs, "outage_recovered", outage="api_limit_redis_unavailable"):
                    await api.client.get("/api/rate-limit")
                    await trio.sleep(0.2)
    assert [r.status_code for r in answers] == [200, 200, 429]
    [warned] = events_named(logs, "api_limit_redis_unavailable")  # once, not once per request
    assert warned["fallback"] == "in-process" and warned["failures"] == 1


async def test_an_unreachable_redis_costs_one_timeout_not_one_per_request(db_url, redis_server):
    import time

    async with running_daemon(api_config(db_url, api_rate_limit=100, redis_url=redis_server.url)) as api:
        redis_server.process.send_signal(__import__("signal").SIGSTOP)  # hung, not refused: every call would wait
        try:
            await api.client.get("/api/new-releases")  # pays the timeout once, opens the breaker
            started = time.monotonic()
            answers = [await api.client.get("/api/new-releases") for _ in range(10)]
            elapsed = time.monotonic() - started
        finally:
            redis_server.process.send_signal(__import__("signal").SIGCONT)
    assert [r.status_code for r in answers] == [200] * 10
    assert elapsed < 1.0, elapsed  # ten requests, none waiting on Redis
