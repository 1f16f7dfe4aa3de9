"""The reads' own connections (vibed/store/reader.py): a burst of one statement shares round trips
(vibed/store/batch_sql.py) and every request still gets exactly its own rows, in its own order; a
bad value fails only its own request; a statement that cannot be batched runs alone."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest
import trio

from tests.api_support import release, store
from vibed.store.batch_sql import batch_of
from vibed.store.listing import ListingQuery, SortKey, list_release_json, list_releases, listing_sql
from vibed.vocab.release_filter import parse_filter


async def test_a_burst_of_listing_pages_shares_round_trips_and_each_gets_its_own_page(db):
    await store(db, *(release(n, language="ml" if n % 3 else "hi", day=dt.date(2026, 1, 1 + n % 28))
                      for n in range(1, 80)))
    queries = [ListingQuery(filter=parse_filter({"language": ["ml"]}), limit=1 + n % 7) for n in range(12)]
    first = await list_releases(db, ListingQuery(limit=40))
    queries += [ListingQuery(limit=3 + n, after=SortKey.of(first.rows[n])) for n in range(12)]
    alone = [await list_release_json(db, q) for q in queries]  # one at a time: no batch can form
    before = db.reader.statistics()
    together: list[object] = [None] * len(queries)

    async def one(n: int) -> None:
        together[n] = await list_release_json(db, queries[n])

    async with trio.open_nursery() as nursery:
        for n in range(len(queries)):
            nursery.start_soon(one, n)
    after = db.reader.statistics()
    assert together == alone
    assert after.statements - before.statements == len(queries)
    assert after.round_trips - before.round_trips < len(queries)  # the burst was batched


async def test_a_value_that_fails_fails_only_its_own_read(db):
    await store(db, *(release(n) for n in range(1, 5)))
    sql = "SELECT $1::int / $2::int AS q"
    results: dict[int, object] = {}

    async def one(n: int) -> None:
        try:
            results[n] = (await db.read(sql, 10, n))[0]["q"]
        except asyncpg.DivisionByZeroError:
            results[n] = "division by zero"

    async with trio.open_nursery() as nursery:
        for n in range(4):
            nursery.start_soon(one, n)
    assert results == {0: "division by zero", 1: 10, 2: 5, 3: 3}


@pytest.mark.parametrize(("sql", "batchable"), [
    ("SELECT $1::int", True),
    ("SELECT x FROM t WHERE a = $1::text AND b < ($2::text::date, $3::bigint) LIMIT $4::int", True),
    ("SELECT $1", False),  # untyped
    ("SELECT x FROM t WHERE a = ANY($1::text[])", False),  # an array
    ("SELECT $1::int, $1::text", False),  # one parameter, two types
    ("SELECT $2::int", False),  # $1 missing
    ("SELECT 1", False),
])
def test_which_statements_can_be_batched(sql, batchable):
    assert (batch_of(sql) is not None) == batchable


@pytest.mark.parametrize("params", [{"language": ["ml"]}, {"artist": ["5"]}, {"kind": ["album"], "source": ["jiosaavn"]}])
def test_the_listings_misses_are_batchable_a_search_and_one_artist_included(params):
    for query in (ListingQuery(filter=parse_filter(params)), ListingQuery(filter=parse_filter(params), q="x"),
                  ListingQuery(filter=parse_filter(params), since=dt.date(2026, 1, 1), limit=7)):
        assert batch_of(listing_sql(query)[0]) is not None, query


async def test_a_burst_of_searches_runs_each_alone(db):
    # batched, a search's pattern would be a value of the batch, which PostgreSQL cannot plan on the trigram index
    await store(db, *(release(n, title=f"Song {n}") for n in range(1, 30)))
    before = db.reader.statistics()
    pages: dict[int, object] = {}

    async def one(n: int) -> None:
        pages[n] = await list_release_json(db, ListingQuery(q=f"Song {n}", limit=3))

    async with trio.open_nursery() as nursery:
        for n in range(1, 9):
            nursery.start_soon(one, n)
    after = db.reader.statistics()
    assert after.round_trips - before.round_trips == after.statements - before.statements == 8
    assert all(pages[n].items for n in pages)
