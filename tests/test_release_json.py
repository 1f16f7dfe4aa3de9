"""PostgreSQL writes a release's JSON (vibed/store/release_json.py) byte for byte as
``json_bytes(row_json(row))``: for hostile text (quotes, backslashes, every control character,
scripts, emoji), missing values, several artists and none, and across pages of the listing."""

from __future__ import annotations

import datetime as dt

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

