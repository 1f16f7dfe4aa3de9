"""The artist index on a real PostgreSQL: names normalised by the schema's one function, one person across
sources, the migration's backfill of old rows, and /api/artists against a live daemon."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from tests.api_support import api_config, conforms, store
from tests.daemon_inproc import running_daemon
from tests.pg_support import create_test_database
from vibed.store.migrations import migrate, schema_dir
from vibed.store.postgres import open_database
from vibed.vocab.messages import Artist, Release

# spelt by upstreams (raw)                        the key the index files it under
NAMES = [
    ("A.R. Rahman", "ar rahman"),
    ("A. R. Rahman", "ar rahman"),
    ("a r  rahman", "ar rahman"),
    ("AR Rahman", "ar rahman"),
    ("  Sid   Sriram ", "sid sriram"),
    ("Shreya&nbsp;Ghoshal", "shreya ghoshal"),
    ("Vishal &amp; Shekhar", "vishal & shekhar"),
    ("Vishal &#38; Shekhar", "vishal & shekhar"),
    ("Beyonc&#xE9;", "beyonce"),
    ("Beyoncé", "beyonce"),
    ("BEYONCÉ", "beyonce"),
    ("Zoë Kravitz", "zoe kravitz"),
    ("S.P. Balasubrahmanyam", "sp balasubrahmanyam"),
    ("K. S. Chithra", "ks chithra"),
    ("Guns N' Roses", "guns n roses"),
    ("Sushin Shyam", "sushin shyam"),
    ("अरिजीत सिंह", "अरिजीत सिंह"),  # other scripts are kept, not dropped
    ("", ""),
]


@pytest.mark.parametrize(("raw", "key"), NAMES)
async def test_the_normalisation_table(db, raw, key):
    assert await db.fetchval("SELECT vibed_artist_key($1)", raw) == key


async def test_display_names_are_decoded_and_spaced_but_keep_their_case(db):
    shown = [await db.fetchval("SELECT vibed_artist_name($1)", raw)
             for raw in ("Vishal &amp; Shekhar", "  Sid   Sriram ", "Beyonc&#xE9;", "A.R. Rahman")]
    assert shown == ["Vishal & Shekhar", "Sid Sriram", "Beyoncé", "A.R. Rahman"]


def _release(source: str, external_id: str, language: str | None, *artists: tuple[str, str],
             day: dt.date = dt.date(2026, 3, 1), title: str | None = None) -> Release:
    return Release(source=source, external_id=external_id, kind="album", title=title or f"{source} {external_id}",
                   artists=tuple(Artist(i, n) for i, n in artists), language=language, release_date=day)


async def test_one_artist_across_jiosaavn_and_spotify_and_the_api_finds_it(db, db_url):
    # the same album on both sources (its title, spelt otherwise): the names and the release say one person
    await store(db, _release("jiosaavn", "js1", "ta", ("456269", "A.R. Rahman"), title="Ponniyin Selvan - II"),
                _release("spotify", "sp1", None, ("1mYsTxnqsietFxj1OgoGbG", "A. R. Rahman"), ("3s", "Shreya Ghoshal"),
                         title="Ponniyin Selvan II"),
                _release("jiosaavn", "js2", "hi", ("456269", "A R Rahman &amp; co"), day=dt.date(2026, 3, 2)),
                _release("jiosaavn", "js3", "ml", ("999", "Sushin Shyam")))
    async with running_daemon(api_config(db_url)) as api:
        found = await api.client.get("/api/artists", params={"q": "a.r. rahmān", "limit": 5})
        assert found.status_code == 200, found.text
        best = found.json()["data"][0]
        assert best["name"] == "A.R. Rahman"
        assert best["sources"] == {"jiosaavn": "456269", "spotify": "1mYsTxnqsietFxj1OgoGbG"}
        # js2's credit reads "A R Rahman &amp; co", but its JioSaavn id is the same person's: the id wins
        assert best["languages"] == ["hi", "ta"] and best["releases"] == 3
        one = await api.client.get(f"/api/artists/{best['id']}")
        listed = (await api.client.get("/api/new-releases", params={"source": "spotify"})).json()["data"]
        doc = (await api.client.get("/openapi.json")).json()
        conforms(doc, "/api/artists", "get", found)
        conforms(doc, "/api/artists/{id}", "get", one)
        bad = [await api.client.get(path, params=params) for path, params in (
            ("/api/artists", {"limit": "0"}), ("/api/artists/abc", {}), ("/api/artists", {"q": "x" * 500}))]
        missing = await api.client.get("/api/artists/987654")
    assert one.status_code == 200
    assert [r["external_id"] for r in one.json()["recent_releases"]] == ["js2", "sp1", "js1"]
    assert listed[0]["artists"] == ["A. R. Rahman", "Shreya Ghoshal"] and listed[0]["artist_ids"][0] == best["id"]
    assert len(listed[0]["artist_ids"]) == 2
    assert [(r.status_code, r.json()["error"]) for r in bad] == [(400, "invalid_parameter")] * 3
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"


async def _people(db) -> list[tuple[str, list[str]]]:
    """Each artist of the index as (name, its upstream ids "source:id"), oldest first."""
    rows = await db.fetch("""SELECT a.name, coalesce(array_agg(i.source || ':' || i.external_id ORDER BY i.source,
                                                              i.external_id) FILTER (WHERE i.source IS NOT NULL), '{}')
                               FROM artists a LEFT JOIN artist_ids i ON i.artist_id = a.id GROUP BY a.id ORDER BY a.id""")
    return [(r[0], list(r[1])) for r in rows]


async def test_two_people_sharing_a_name_stay_two(db):
    # two JioSaavn ids spelt alike, with nothing else in common: upstream says two people, nothing says one
    await store(db, _release("jiosaavn", "r1", "ta", ("111", "Anirudh"), ("5", "Dhanush"), title="Vaathi"),
                _release("jiosaavn", "r2", "hi", ("222", "Anirudh"), ("6", "Kavita Seth"), title="Baarish"))
    # a Spotify credit of the name with no release or co-artist in common with either: a third person
    await store(db, _release("spotify", "s1", None, ("spA", "Anirudh"), ("spX", "Nobody Else"), title="Elsewhere"))
    assert await _people(db) == [("Anirudh", ["jiosaavn:111"]), ("Dhanush", ["jiosaavn:5"]),
                                 ("Anirudh", ["jiosaavn:222"]), ("Kavita Seth", ["jiosaavn:6"]),
                                 ("Anirudh", ["spotify:spA"]), ("Nobody Else", ["spotify:spX"])]


async def test_a_name_and_co_occurrence_make_one_person(db):
    await store(db, _release("jiosaavn", "r1", "ta", ("111", "Anirudh"), ("5", "Dhanush"), title="Vaathi"),
                _release("jiosaavn", "r2", "hi", ("222", "Anirudh"), ("6", "Kavita Seth"), title="Baarish"))
    # a co-artist in common (Dhanush, by name: Spotify's id for him is its own) joins the first Anirudh;
    # the same album (its title) on Spotify joins the second; a name-only credit joins the oldest
    await store(db, _release("spotify", "s1", None, ("spA", "Anirudh Ravichander"), title="x"),
                _release("spotify", "s2", None, ("spB", "ANIRUDH"), ("spD", "Dhanush"), title="Thiruchitrambalam"),
                _release("spotify", "s3", None, ("spC", "Anirudh"), title="BAARISH"),
                _release("jiosaavn", "r3", "ta", ("", "Anirudh"), title="Untitled"))
    people = await _people(db)
    assert people[:4] == [("Anirudh", ["jiosaavn:111", "spotify:spB"]), ("Dhanush", ["jiosaavn:5", "spotify:spD"]),
                          ("Anirudh", ["jiosaavn:222", "spotify:spC"]), ("Kavita Seth", ["jiosaavn:6"])]
    assert ("Anirudh Ravichander", ["spotify:spA"]) in people  # another name is another key
    r3 = await db.fetchval("SELECT ra.artist_id FROM release_artists ra JOIN releases r ON r.id = ra.release_id "
                           "WHERE r.external_id = 'r3'")
    assert r3 == await db.fetchval("SELECT min(id) FROM artists WHERE key = 'anirudh'")


async def test_an_artist_known_by_no_id_is_joined_by_its_name(db):
    await store(db, _release("jiosaavn", "r0", "ta", ("", "Sid Sriram"), title="One"))
    await store(db, _release("spotify", "s0", None, ("spS", "Sid  Sriram"), title="Two"))  # nothing says otherwise
    assert await _people(db) == [("Sid Sriram", ["spotify:spS"])]


async def test_the_migrations_index_releases_and_events_stored_before_them(pg_server, aio_loop, tmp_path: Path):
    url = await create_test_database(pg_server)
    older = tmp_path / "schema"
    older.mkdir()
    for path in sorted(schema_dir().glob("*.sql")):
        if path.name < "0013":
            shutil.copy(path, older / path.name)
    async with open_database(url, pool_size=2) as db:
        await db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await migrate(db, older)
        await db.execute("""INSERT INTO releases (source, external_id, kind, title, artists, language) VALUES
            ('jiosaavn', 'old1', 'album', 'Old one', '[{"id": "456269", "name": "A.R. Rahman"}]', 'ta'),
            ('spotify', 'old2', 'song', 'Old two', '[{"id": "sp9", "name": "A. R. Rahman"},
                                                     {"id": "sp8", "name": "Zoë"}]', NULL)""")
        await db.execute("""INSERT INTO events (kind, release_id, payload)
                            SELECT 'new_release', id, jsonb_build_object('id', id, 'artists', '["Zoë"]')
                              FROM releases WHERE external_id = 'old2'""")
        assert (await migrate(db))[:2] == ["0013_artists.sql", "0014_event_artist_ids.sql"]
        rows = await db.fetch("""SELECT r.external_id, a.name, ra.position FROM release_artists ra
                                 JOIN releases r ON r.id = ra.release_id JOIN artists a ON a.id = ra.artist_id
                                 ORDER BY r.external_id, ra.position""")
        sources = await db.fetch("SELECT source, external_id FROM artist_ids ORDER BY 1, 2")
        event = await db.fetchval("SELECT payload->'artist_ids' FROM events")
        ids = await db.fetch("SELECT artist_id FROM release_artists ra JOIN releases r ON r.id = ra.release_id "
                             "WHERE r.external_id = 'old2' ORDER BY position")
    assert [tuple(r) for r in rows] == [("old1", "A.R. Rahman", 1), ("old2", "A.R. Rahman", 1), ("old2", "Zoë", 2)]
    assert [tuple(r) for r in sources] == [("jiosaavn", "456269"), ("spotify", "sp8"), ("spotify", "sp9")]
    assert event == [r["artist_id"] for r in ids] and len(event) == 2  # an old event's payload: its artist ids


async def test_search_without_pg_trgm_still_finds_by_substring(db, db_url):
    await store(db, _release("jiosaavn", "js1", "ta", ("456269", "A.R. Rahman")),
                _release("jiosaavn", "js2", "ml", ("999", "Sushin Shyam")))
    await db.execute("DROP EXTENSION pg_trgm CASCADE")  # a server without it (0003 and 0013 skip its indexes)
    async with running_daemon(api_config(db_url)) as api:
        found = await api.client.get("/api/artists", params={"q": "Rahmān"})
    assert found.status_code == 200, found.text
    assert [a["name"] for a in found.json()["data"]] == ["A.R. Rahman"]
