"""Regression: every HTTP request that touched the database used to stay in memory for minutes.

asyncpg armed a loop timer at each pool release (and per query with command_timeout); under
trio-asyncio a cancelled timer keeps its context — the Quart request — until it would have
fired.  Requests served must not accumulate."""

from __future__ import annotations

import gc

import httpx

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon


def alive(type_name: str) -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects() if type(o).__name__ == type_name)


async def test_served_requests_do_not_accumulate(db_url):
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as daemon:
        daemon.runtime.services.edge.cache.enabled = False  # every request goes to PostgreSQL
        async with httpx.AsyncClient(base_url=daemon.base_url) as client:
            for _ in range(20):
                assert (await client.get("/api/new-releases", params={"limit": 5})).status_code == 200
            before = alive("TrioRequest")
            for _ in range(200):
                assert (await client.get("/api/new-releases", params={"limit": 5})).status_code == 200
            after = alive("TrioRequest")
    assert after - before < 10, f"{after - before} requests still alive after 200 were served"
