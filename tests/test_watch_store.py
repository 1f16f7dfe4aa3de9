"""Watches in the store, on a real PostgreSQL: names that match no artist yet stay pending and are matched by
the writer's transaction that first indexes that artist; who follows whom, most-followed first."""

from __future__ import annotations

import pytest

from tests.api_support import release, store
from vibed.store import watches
from vibed.store.watches import BadFollow, WatchChange


async def _artist(db, name: str) -> int:
    return int(await db.fetchval("SELECT id FROM artists WHERE key = vibed_artist_key($1)", name))


async def test_a_pending_name_is_matched_when_its_artist_first_appears(db):
    await store(db, release(1, artist="Sushin Shyam"))
    known = await _artist(db, "Sushin Shyam")
    watch, token = await watches.create(db, WatchChange(name="mine", artist_names=["sushin  SHYAM", "A. R. Rahman"]))
    assert watch.artists == ((known, "Sushin Shyam"),) and watch.pending == ("A. R. Rahman",)
    assert watch.filter.artists == frozenset({known})
    assert watches.token_matches(watch, token) and not watches.token_matches(watch, token + "x")

    await store(db, release(2, artist="A.R. Rahman"))  # the release that introduces him
    rahman = await _artist(db, "AR Rahman")
    # matched by the writer's own transaction: filed under the watch, no longer pending
    assert await db.fetchval("SELECT count(*) FROM watch_pending") == 0
    assert await db.fetchval("SELECT artist_id FROM watch_artists WHERE artist_id = $1", rahman) == rahman
    after = await watches.get(db, watch.id)
    assert after is not None and after.pending == () and after.filter.artists == frozenset({known, rahman})
    assert await watches.resolve(db, watch.id) == after.filter


async def test_a_watch_of_only_pending_names_matches_nothing_yet_and_one_of_none_everything(db):
    waiting, _ = await watches.create(db, WatchChange(name="w", artist_names=["Nobody Yet"]))
    everything, _ = await watches.create(db, WatchChange(name="all", languages=["ml"]))
    assert waiting.filter.artists == frozenset()
    assert everything.filter.artists is None and everything.filter.languages == frozenset({"ml"})


async def test_followed_artists_most_followed_first(db):
    await store(db, release(1, artist="One"), release(2, artist="Two"), release(3, artist="Three"))
    one, two, three = [await _artist(db, n) for n in ("One", "Two", "Three")]
    await watches.create(db, WatchChange(name="a", artists=[two, three]))
    await watches.create(db, WatchChange(name="b", artists=[two], artist_names=["One"]))
    await watches.create(db, WatchChange(name="c", artists=[two, one]))
    assert await watches.followed_artists(db) == [(two, 3), (one, 2), (three, 1)]
    assert await watches.followed_artists(db, limit=1) == [(two, 3)]


async def test_unknown_ids_and_too_many_follows_are_refused_whole(db):
    with pytest.raises(BadFollow) as unknown:
        await watches.create(db, WatchChange(name="x", artists=[424242]))
    with pytest.raises(BadFollow) as many:
        await watches.create(db, WatchChange(name="x", artist_names=[f"Name {i}" for i in range(51)]))
    await store(db, *(release(n, artist=f"Known {n}") for n in range(30)))
    known = [await _artist(db, f"Known {n}") for n in range(30)]
    with pytest.raises(BadFollow) as together:  # ids and names count together
        await watches.create(db, WatchChange(name="x", artists=known, artist_names=[f"Name {i}" for i in range(21)]))
    assert (unknown.value.error, many.value.error, together.value.error) == (
        "unknown_artist", "too_many_artists", "too_many_artists")
    assert await db.fetchval("SELECT count(*) FROM watches") == 0


async def test_update_replaces_the_parts_given_and_delete_forgets(db):
    await store(db, release(1, artist="One"))
    one = await _artist(db, "One")
    watch, _ = await watches.create(db, WatchChange(name="a", languages=["ml"], artist_names=["Later"]))
    changed = await watches.update(db, watch.id, WatchChange(name="b", artists=[one], parts=frozenset({"languages"})))
    assert changed is not None and changed.name == "b" and changed.filter.languages is None
    assert changed.filter.artists == frozenset({one}) and changed.pending == ("Later",)
    assert await watches.delete(db, watch.id) and await watches.get(db, watch.id) is None
    assert await watches.update(db, watch.id, WatchChange(name="c")) is None
