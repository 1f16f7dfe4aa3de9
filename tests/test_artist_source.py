"""A followed artist's own page (``artist.getArtistMoreAlbum``): the simulator serves it, the source reads it.

The simulator over HTTP on a real socket; the per-artist call has the listing's quirks and failure shapes.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import httpx
import pytest

from tests.sim_fixtures import SimControl
from vibed.simulator import SimSettings
from vibed.simulator.catalogue import Catalogue
from vibed.simulator.trace import Trace
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.vocab.messages import Failure, FailureKind, Page, artist_scope

ARTIST_PARAMS = {"__call": "artist.getArtistMoreAlbum", "_format": "json", "_marker": "0", "api_version": "4",
                 "ctx": "web6dot0", "sort_order": "desc", "category": "latest"}


async def artist_page(sim: SimControl, artist_id: str, page: int = 0) -> dict[str, Any]:
    response = await sim.client.get(f"{sim.url}/api.php", params={**ARTIST_PARAMS, "artistId": artist_id,
                                                                   "page": str(page)})
    sim.client.cookies.clear()
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_a_release_is_exactly_what_was_asked_for(sim: SimControl) -> None:
    [made] = await sim.release(language="te", artists=["Nila Das", "Sid Sriram"], kind="album")
    assert made["language"] == "te"
    assert [a["name"] for a in made["artists"]] == ["Nila Das", "Sid Sriram"]
    assert made["artists"][1]["id"] == "1274170"  # a known artist keeps the id upstream gives them
    newest = (await sim.catalogue(language="te"))[0]
    assert newest["id"] == made["id"]


@pytest.mark.parametrize("body", [{"artists": "Nila Das"}, {"artists": []}, {"artists": [""]}, {"artists": [3]}])
async def test_bad_artists_are_refused(sim: SimControl, body: dict[str, Any]) -> None:
    response = await sim.client.post(f"{sim.url}/_sim/release", json={"language": "te", **body})
    assert response.status_code == 400 and "artists" in response.json()["error"]


async def test_no_other_language_leaks_in_unless_the_quirk_is_asked_for(sim: SimControl) -> None:
    catalogue = await sim.catalogue(language="ml")
    assert len(catalogue) == 120 and {entry["language"] for entry in catalogue} == {"ml"}


async def test_the_artist_page_is_newest_first_in_every_language_with_the_listing_quirks(sim: SimControl) -> None:
    made = [await sim.release(language=lang, artists=["Nila Das"]) for lang in ("te", "ml", "bn")]
    artist_id = made[0][0]["artists"][0]["id"]
    body = await artist_page(sim, artist_id)
    albums = body["topAlbums"]["albums"]
    assert {a["id"] for a in albums} == {m[0]["id"] for m in made}
    assert int(body["topAlbums"]["total"]) == 3
    assert {a["language"] for a in albums} == {"telugu", "malayalam", "bengali"}
    assert all(a["image"].endswith("-150x150.jpg") or "?bch=" in a["image"] or "editorial" in a["image"]
               for a in albums)
    assert (await artist_page(sim, "999999999"))["topAlbums"] == {"albums": [], "total": 0}  # unknown: empty


async def test_the_source_reads_an_artist_s_release_outside_the_watched_languages(
        sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    [made] = await sim.release(language="te", artists=["Nila Das"])
    source = JioSaavnSource(upstream_client, sim.url)
    page = await source.fetch_page(artist_scope(" " + made["artists"][0]["id"]), 1)
    assert isinstance(page, Page) and page.last_page
    [release] = page.releases
    assert (release.external_id, release.language, release.title) == (made["id"], "te", made["title"])
    assert [a.name for a in release.artists] == ["Nila Das"]


async def test_a_popular_artist_pages_through_their_albums(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, sim.url)
    for lang in ("ml", "hi"):
        await sim.catalogue(language=lang)  # the seeded catalogue credits Stebin Ben on many albums
    pages = []
    for number in range(1, 20):
        page = await source.fetch_page(artist_scope("4670197"), number)
        assert isinstance(page, Page)
        pages.append(page)
        if page.last_page:
            break
    ids = [r.external_id for p in pages for r in p.releases]
    assert len(pages) > 1 and len(ids) == len(set(ids)) == pages[0].total
    assert {r.language for r in pages[0].releases} <= {"ml", "hi"}


@pytest.mark.parametrize(("kind", "failure"), [("html", FailureKind.BLOCKED),
                                               ("error_json", FailureKind.UPSTREAM_ERROR),
                                               ("status_5xx", FailureKind.UPSTREAM_ERROR)])
async def test_the_artist_page_fails_as_the_listing_does(sim: SimControl, upstream_client: httpx.AsyncClient,
                                                         kind: str, failure: FailureKind) -> None:
    await sim.inject(kind, scope="artist:4670197", count=1, variant="status_failure" if kind == "error_json" else None)
    result = await JioSaavnSource(upstream_client, sim.url).fetch_page(artist_scope("4670197"), 1)
    assert isinstance(result, Failure) and result.kind is failure and result.scope == "artist:4670197"


async def test_an_empty_artist_page_is_an_empty_last_page(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    await sim.inject("empty", scope="artist:4670197", count=1)
    page = await JioSaavnSource(upstream_client, sim.url).fetch_page(artist_scope("4670197"), 1)
    assert isinstance(page, Page) and page.last_page and page.received == 0


def test_the_trace_has_followed_artists_releasing_outside_its_languages() -> None:
    thursday_noon_ist = dt.datetime(2026, 11, 26, 6, 30, tzinfo=dt.UTC).timestamp()
    trace = Trace(seed=2, start=thursday_noon_ist, hours=24, followed=20, outside=5, artist_per_day=3,
                  languages=("ml", "hi", "ta"))
    artists = trace.followed_artists()
    assert len(artists) == 20 and len({a.name for a, _ in artists}) == 20
    outside = {a.id for a, lang in artists if lang not in trace.languages}
    assert len(outside) == 5
    released = {artist.id for _, _, artist in trace.artist_schedule()}
    assert outside <= released  # every one of them releases during the day
    untracked = {lang for _, lang, artist in trace.artist_schedule() if artist.id in outside}
    assert untracked.isdisjoint(trace.languages)


@pytest.fixture
def sim_settings() -> SimSettings:
    return SimSettings(seed=7, new_per_minute=0, today=dt.date(2026, 3, 14))


def test_in_trace_mode_a_followed_artist_s_page_has_their_older_album_and_then_their_new_ones() -> None:
    start = time.time()  # the trace starts now: nothing of it published yet
    trace = Trace(seed=2, start=start, wall0=start, speed=1.0, hours=24, followed=6, outside=2,
                  languages=("ml", "hi"))
    catalogue = Catalogue(SimSettings(seed=2, new_per_minute=0, trace=trace), started=0.0)
    for artist, language in trace.followed_artists():
        [album] = catalogue.by_artist(artist.id, 0.0)
        assert album.language == language and album.primary == (artist,) and album.kind == "album"
