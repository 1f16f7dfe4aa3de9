"""Fixtures that start the upstream simulator on a real socket; import with ``from tests.sim_fixtures import *``.

- ``sim_settings``: the SimSettings a test's simulator uses (override the fixture to change them);
- ``sim_url``: base URL of a simulator running for the test;
- ``sim``: a ``SimControl`` for its ``/_sim`` endpoints (faults, releases, stats, catalogue);
- ``upstream_client``: a plain ``httpx.AsyncClient`` for the sources under test (default cookie jar on).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import attrs
import httpx
import pytest
import trio

from vibed.simulator import SimSettings, serve_simulator

__all__ = ["SimControl", "sim", "sim_settings", "sim_url", "upstream_client"]


@attrs.frozen
class SimControl:
    """The simulator's control endpoints as calls; each raises if the simulator refuses."""

    url: str
    client: httpx.AsyncClient

    async def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self.client.request(method, f"{self.url}{path}", **kwargs)
        response.raise_for_status()
        return response.json()

    async def inject(self, kind: str, **fault: Any) -> None:
        """E.g. ``inject("status_429", language="ml", retry_after=30, count=2)``."""
        # as JSON escapes: a hostile value may hold what UTF-8 cannot (a lone surrogate)
        await self._call("POST", "/_sim/faults", content=json.dumps({"kind": kind, **fault}),
                         headers={"Content-Type": "application/json"})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/_sim/faults")

    async def release(self, **body: Any) -> list[dict[str, Any]]:
        """Add releases now (``language=``/``market=``, ``kind=``, ``title=``, ``count=``); their expected form."""
        return (await self._call("POST", "/_sim/release", content=json.dumps(body),  # as inject: escapes
                                 headers={"Content-Type": "application/json"}))["releases"]

    async def catalogue(self, *, language: str | None = None, market: str | None = None) -> list[dict[str, Any]]:
        """Newest first, each as a faithful client should normalise it."""
        params = {"market": market} if market else {"language": language or "ml"}
        return (await self._call("GET", "/_sim/catalogue", params=params))["releases"]

    async def kept_ids(self, languages: tuple[str, ...]) -> set[str]:
        """The external ids a faithful client keeps of these languages (no playlists, no other languages)."""
        kept: set[str] = set()
        for language in languages:
            kept |= {r["id"] for r in await self.catalogue(language=language)
                     if r["kind"] != "playlist" and r["language"] == language}
        return kept

    async def stats(self) -> dict[str, Any]:
        return await self._call("GET", "/_sim/stats")

    async def reset_stats(self) -> None:
        await self._call("POST", "/_sim/stats/reset")

    async def revoke_tokens(self) -> None:
        await self._call("POST", "/_sim/spotify/revoke")


@pytest.fixture
def sim_settings() -> SimSettings:
    # no clock growth and a fixed "today": what a test sees depends only on what it does
    return SimSettings(seed=7, new_per_minute=0, today=dt.date(2026, 3, 14))


@pytest.fixture
async def sim_url(nursery: trio.Nursery, sim_settings: SimSettings) -> str:
    return await nursery.start(partial(serve_simulator, settings=sim_settings))


@pytest.fixture
async def sim(sim_url: str) -> AsyncIterator[SimControl]:
    async with httpx.AsyncClient() as client:
        yield SimControl(sim_url, client)


@pytest.fixture
async def upstream_client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client
