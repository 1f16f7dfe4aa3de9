"""Caps on what comes from upstream: an answer's decoded size, against the simulator over real HTTP.

A gzip bomb (64 KB on the wire, 64 MiB decoded) is dropped once its decoded bytes pass the cap —
streamed and decoded chunk by chunk, never held whole — and reported as upstream trouble; the
next answer is read as usual.
"""

from __future__ import annotations

import httpx

from tests.sim_fixtures import SimControl
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.vocab.messages import Failure, FailureKind, Page

CAP = 1024 * 1024


async def test_a_gzip_bomb_is_dropped_past_the_decoded_cap_as_upstream_trouble(
        sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, sim.url, max_body=CAP)
    await sim.inject("gzip_bomb", language="ml", count=1)
    bombed = await source.fetch_page("ml", 1)
    assert isinstance(bombed, Failure), f"a 64 MiB answer was read whole: {bombed!r:.200}"
    assert bombed.kind is FailureKind.UPSTREAM_ERROR and bombed.status == 200
    assert f"larger than {CAP} bytes decoded (VIBED_UPSTREAM_MAX_BODY)" in bombed.detail
    again = await source.fetch_page("ml", 1)  # the fault is spent: an ordinary page, read whole
    assert isinstance(again, Page) and len(again.releases) > 40
