"""``vibed run --simulate`` never touches real state: its releases, events and buckets live in ``<db>_sim``."""

from __future__ import annotations

import trio
import trio_asyncio

from tests.process_support import run_until_first_round
from vibed.embedded.target import with_database
from vibed.store.postgres import open_database


def counts(dsn: str) -> tuple[int, int, float]:
    async def main() -> tuple[int, int, float]:
        async with trio_asyncio.open_loop(), open_database(dsn, pool_size=1) as db:
            return (await db.fetchval("SELECT count(*) FROM releases"),
                    await db.fetchval("SELECT count(*) FROM events"),
                    await db.fetchval("SELECT tokens FROM rate_limit_tokens WHERE service_name='jiosaavn'"))

    return trio.run(main)


def test_a_simulated_run_spends_and_stores_only_in_its_own_database(tmp_path, fresh_db_url):
    events = run_until_first_round(tmp_path, fresh_db_url, "")
    assert any(e["event"] == "fetch_success" for e in events)
    name = fresh_db_url.split("?")[0].rsplit("/", 1)[1]
    real = counts(fresh_db_url)
    simulated = counts(with_database(fresh_db_url, f"{name}_sim"))
    assert real == (0, 0, 1000)  # the real bucket is full, the real tables empty
    releases, announced, tokens = simulated
    assert releases > 0 and announced > 0 and tokens < 1000


def test_a_second_simulated_run_announces_releases_again(tmp_path, fresh_db_url):
    """The simulation's database keeps what an earlier run stored; the simulator's catalogue starts again at
    each run, so it must be a new one: the same ids again would all be known, and the second run's first
    round would announce nothing (for as long as the first run had lasted)."""
    def first_round(run: str) -> dict:
        (tmp_path / run).mkdir()
        events = run_until_first_round(tmp_path / run, fresh_db_url, "")
        return next(e for e in events if e["event"] == "fetch_completed")

    first, second = first_round("one"), first_round("two")
    assert first["first_seen"] > 0 and first["new"] > 0, first
    assert second["first_seen"] > 0 and second["new"] > 0, second
