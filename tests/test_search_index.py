"""The listing's search indexes (schema 0021) keep their pending list short: a search never reads
more than 256 kB of recent writes (at the default 4 MB, searches after a day of releases cost 5x)."""

from __future__ import annotations

from tests.api_support import store
from vibed.store.listing import ListingQuery, list_release_json
from vibed.vocab.messages import Artist, Release

TRIGRAM_INDEXES = ("releases_title_trgm", "releases_artist_names_trgm")
PAGES_IN_256_KB = 32


def many(count: int) -> list[Release]:
    return [Release(source="jiosaavn", external_id=f"p{n}", kind="album", title=f"Pending title {n} of {n * 7919}",
                    artists=(Artist(f"a{n}", f"Singer {n} and {n * 31}"),), language="ml")
            for n in range(count)]


async def test_stored_releases_leave_a_short_pending_list_in_the_search_indexes(db):
    if await db.fetchval("SELECT to_regclass('releases_title_trgm')") is None:
        return  # a server without pg_trgm: no index to keep (0003_listing.sql)
    for start in range(0, 6000, 1500):  # well over 256 kB of new index entries
        await store(db, *many(6000)[start:start + 1500])
    for index in TRIGRAM_INDEXES:
        # the pages still pending, which every search would have read: merged when past the limit
        assert await db.fetchval("SELECT gin_clean_pending_list($1::regclass)", index) <= PAGES_IN_256_KB, index
    page = await list_release_json(db, ListingQuery(q="title 4321 of"))
    assert len(page.items) == 1
