"""PostgreSQL writes a release's JSON (vibed/store/release_json.py) byte for byte as
``json_bytes(row_json(row))``: for hostile text (quotes, backslashes, every control character,
scripts, emoji), missing values, several artists and none, and across pages of the listing."""

from __future__ import annotations

import datetime as dt

import attrs

from tests.api_support import store
from vibed.store.listing import ListingQuery, list_release_json, list_releases
from vibed.store.releases import row_json
from vibed.vocab.json_bytes import json_bytes
from vibed.vocab.messages import Artist, Release

CONTROL = "".join(chr(c) for c in range(1, 32)) + "\x7f"
HOSTILE = ['quote " and \\ backslash', CONTROL, "മലയാളം हिन्दी தமிழ்", "emoji 🎵🎶 and \u2028\u2029",
           "</script><script>alert(1)</script>", "tab\there", "  spaces  ", "'single'"]


def hostile_releases() -> list[Release]:
    out = []
    for n, text in enumerate(HOSTILE):
        out.append(Release(source="jiosaavn", external_id=f"h{n}", kind="song" if n % 2 else "album", title=text,
                           artists=tuple(Artist(f"a{n}-{k}", f"{text} {k}") for k in range(n % 3)),
                           album=None if n % 2 else text, language=None if n == 3 else "ml",
                           release_date=None if n == 4 else dt.date(2026, 3, 1 + n), year=None if n == 4 else 2026,
                           image=None if n == 5 else f"https://c.test/{n}.jpg?a=1&b=\"2\"", url=f"https://e.test/{n}",
                           explicit=(None, True, False)[n % 3], raw={"n": n}))
    return out


async def test_postgres_writes_each_release_as_row_json_would(db):
    await store(db, *hostile_releases())
    for limit in (3, 100):  # pages, and the whole table in one
        query = ListingQuery(limit=limit)
        rows, written = await list_releases(db, query), await list_release_json(db, query)
        assert len(written.items) == len(rows.rows) and written.next_key == rows.next_key
        for row, item in zip(rows.rows, written.items, strict=True):
            assert item == json_bytes(row_json(row)), row["title"]


async def test_an_artist_written_without_a_name_is_an_empty_name_as_in_row_json(db):
    await store(db, *hostile_releases()[:2])
    await db.execute("""UPDATE releases SET artists = '[{"id": "x"}, {"id": "y", "name": null}, {"name": 7}]'""")
    rows, written = await list_releases(db, ListingQuery()), await list_release_json(db, ListingQuery())
    assert [json_bytes(row_json(row)) for row in rows.rows] == list(written.items)
    assert b'"artists":["",null,7]' in written.items[0]



async def kept(db) -> dict[int, bytes | None]:
    return {row["id"]: row["listed_json"] for row in await db.fetch("SELECT id, listed_json FROM releases")}


async def test_the_writer_keeps_each_release_s_json_as_row_json_would_write_it(db):
    await store(db, *hostile_releases())
    rows = (await list_releases(db, ListingQuery(limit=100))).rows
    assert await kept(db) == {row["id"]: json_bytes(row_json(row)) for row in rows}


async def test_a_release_stored_again_keeps_its_new_json(db):
    first = hostile_releases()[0]
    await store(db, first)
    await store(db, attrs.evolve(first, title="a new title", artists=(Artist("z", "Zed"),)))
    [row] = (await list_releases(db, ListingQuery())).rows
    assert list((await kept(db)).values()) == [json_bytes(row_json(row))]
    assert b'"title":"a new title","artists":["Zed"]' in json_bytes(row_json(row))


async def test_a_release_changed_outside_the_writer_is_listed_as_it_is_now(db):
    await store(db, *hostile_releases()[:3])
    await db.execute("UPDATE releases SET title = 'renamed by hand' WHERE external_id = 'h1'")
    assert (await kept(db))[await db.fetchval("SELECT id FROM releases WHERE external_id = 'h1'")] is None
    written = await list_release_json(db, ListingQuery())
    assert sum(b'"title":"renamed by hand"' in item for item in written.items) == 1


async def test_a_release_whose_credits_change_is_listed_with_its_artist_ids_now(db):
    await store(db, *hostile_releases()[:3])  # h2 credits two artists
    gone = await db.fetchval("SELECT min(artist_id) FROM release_artists")
    await db.execute("DELETE FROM artists WHERE id = $1", gone)  # its credits go with it (ON DELETE CASCADE)
    rows, written = await list_releases(db, ListingQuery()), await list_release_json(db, ListingQuery())
    assert [json_bytes(row_json(row)) for row in rows.rows] == list(written.items)
    assert all(gone not in row["artist_ids"] for row in rows.rows)
