"""A run the database cuts short cannot record anything; the next run must still catch up."""

from __future__ import annotations

import trio

from vibed.actors.fetcher import Fetcher
from vibed.actors.health import ScopeHealth
from vibed.messages import FetchJob, WriteRequest
from vibed.sources.jiosaavn import JioSaavnSource


async def test_a_run_cut_short_at_its_write_leaves_the_next_run_paging_to_the_cap(db, sim_url, upstream_client):
    fetcher = Fetcher("fetcher-t", db, {"jiosaavn": JioSaavnSource(upstream_client, sim_url)}, ScopeHealth())
    pages_s, pages_r = trio.open_memory_channel[WriteRequest](0)
    job = FetchJob("r1", "r1", "jiosaavn", "ml", max_pages=3)
    async with trio.open_nursery() as nursery:
        async def die_at_the_write() -> None:
            await pages_r.receive()  # the pages reached the writer; then everything stops (a crash, an outage)
            nursery.cancel_scope.cancel()

        nursery.start_soon(die_at_the_write)
        await fetcher.run_job(job, pages_s)
    stored = await db.fetchval("SELECT count(*) FROM releases")
    resume = await db.fetchval("SELECT resume_pages FROM fetch_state WHERE source = 'jiosaavn' AND scope = 'ml'")
    assert stored == 0 and resume == 3, "nothing was stored, so the next run must page to the cap again"
