"""A run the database cuts short cannot record anything; the next run must still catch up."""

from __future__ import annotations

import trio

from vibed.pipeline.fetcher import Fetcher
from vibed.pipeline.health import ScopeHealth
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.vocab.messages import FetchJob, WriteRequest


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


class ChokingSource(JioSaavnSource):
    """The real client, with a parser bug: what a new upstream shape could trigger."""

    async def fetch_page(self, scope, page):  # type: ignore[no-untyped-def]
        answer = await super().fetch_page(scope, page)
        raise TypeError(f"unexpected shape after {type(answer).__name__}")


async def test_a_parser_that_chokes_is_an_upstream_failure_and_the_fetcher_lives_on(db, sim_url, upstream_client):
    from tests.pipeline_support import captured_logs, events_named

    health = ScopeHealth()
    fetcher = Fetcher("fetcher-t", db, {"jiosaavn": ChokingSource(upstream_client, sim_url)}, health)
    pages_s, _pages_r = trio.open_memory_channel[WriteRequest](1)
    with captured_logs() as logs:
        await fetcher.run_job(FetchJob("r1", "r1", "jiosaavn", "ml", max_pages=3), pages_s)
    [error] = events_named(logs, "fetch_error", language="ml")
    assert error["kind"] == "upstream_error" and "could not read the answer: TypeError" in error["detail"]
    assert health.failures("jiosaavn", "ml") == 1
