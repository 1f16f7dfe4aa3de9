"""The listing's search indexes (schema 0021) take each stored release's entries at once: a search
never reads a pending list of recent writes (which made it 3x dearer until autovacuum came)."""

from __future__ import annotations

from tests.api_support import store
from tests.test_release_json import hostile_releases
from vibed.store.listing import ListingQuery, list_release_json

TRIGRAM_INDEXES = ("releases_title_trgm", "releases_artist_names_trgm")


async def test_stored_releases_leave_no_pending_entries_in_the_search_indexes(db):
    if await db.fetchval("SELECT to_regclass('releases_title_trgm')") is None:
        return  # a server without pg_trgm: no index to keep (0003_listing.sql)
    await store(db, *hostile_releases())
    for index in TRIGRAM_INDEXES:
        # the pages it had to merge: none when the writes went into the index itself
        assert await db.fetchval("SELECT gin_clean_pending_list($1::regclass)", index) == 0, index
    page = await list_release_json(db, ListingQuery(q="backslash"))
    assert len(page.items) == 1
