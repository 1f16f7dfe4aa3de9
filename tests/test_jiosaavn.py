"""JioSaavn: every quirk undone, every failure shape typed, the cookie-jar trap avoided."""

from __future__ import annotations

import copy
import datetime as dt
import email.utils
from typing import Any

import httpx
import pytest

from tests.sim_fixtures import SimControl
from vibed.simulator import SimSettings
from vibed.sources import jiosaavn_items
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.vocab.languages import code_for_name, jiosaavn_name
from vibed.vocab.messages import Artist, Failure, FailureKind, Page, Release


@pytest.fixture
def sim_settings() -> SimSettings:
    # every quirk, the other-language items included: the client must undo all of them
    return SimSettings(seed=7, new_per_minute=0, today=dt.date(2026, 3, 14), quirks={"other_language"})


def artist(artist_id: str, name: str, role: str = "primary_artists") -> dict[str, str]:
    return {"id": artist_id, "name": name, "role": role, "image": "", "type": "artist", "perma_url": ""}


BASE_ITEM: dict[str, Any] = {
    "id": "64723112",
    "title": "Aavesham",
    "subtitle": "Sushin Shyam",
    "type": "album",
    "perma_url": "https://www.jiosaavn.com/album/aavesham/abc",
    "image": "https://c.saavncdn.com/112/Aavesham-Malayalam-2024-20240411-150x150.jpg",
    "language": "malayalam",
    "year": "2024",
    "play_count": "73372432",
    "explicit_content": "0",
    "more_info": {
        "release_date": "2024-04-11",
        "song_count": "0",
        "artistMap": {"primary_artists": [artist("702452", "Sushin Shyam")], "featured_artists": [], "artists": []},
    },
}


def item(**changes: Any) -> dict[str, Any]:
    """BASE_ITEM with top-level fields replaced; ``more_info__x`` replaces ``more_info["x"]``."""
    result = copy.deepcopy(BASE_ITEM)
    for key, value in changes.items():
        if key.startswith("more_info__"):
            result["more_info"][key.removeprefix("more_info__")] = value
        else:
            result[key] = value
    return result


def normalise(raw: dict[str, Any]) -> Release | None:
    return jiosaavn_items.release(raw, language_code="ml", language_name="malayalam")


QUIRKS = [
    ("&quot; in title", item(title="Adi Alaye (From &quot;Parasakthi&quot;)"), "title", 'Adi Alaye (From "Parasakthi")'),
    ("raw quotes in title", item(title='Adi Alaye (From "Parasakthi")'), "title", 'Adi Alaye (From "Parasakthi")'),
    ("&amp; and &#039; in title", item(title="Rock &amp; Roll&#039;s Night"), "title", "Rock & Roll's Night"),
    ("surrounding spaces in title", item(title="  Premalu "), "title", "Premalu"),
    ("leading space in id", item(id=" 64723112"), "external_id", "64723112"),
    ("play_count as string", item(play_count="73372432"), "play_count", 73372432),
    ("missing play_count is empty", item(play_count=""), "play_count", None),
    ("explicit_content 1", item(explicit_content="1"), "explicit", True),
    ("explicit_content 0", item(explicit_content="0"), "explicit", False),
    ("explicit_content empty", item(explicit_content=""), "explicit", None),
    ("year as string", item(year="2024"), "year", 2024),
    ("empty year falls back to release date", item(year=""), "year", 2024),
    ("empty year without date", item(year="", more_info__release_date=""), "year", None),
    ("release date parsed", item(), "release_date", dt.date(2024, 4, 11)),
    ("empty release date", item(more_info__release_date=""), "release_date", None),
    ("bad release date", item(more_info__release_date="2024-13-45"), "release_date", None),
    ("missing release date", item(more_info={"artistMap": {}}), "release_date", None),
    ("150x150 image upgraded", item(), "image",
     "https://c.saavncdn.com/112/Aavesham-Malayalam-2024-20240411-500x500.jpg"),
    ("http image upgraded to https", item(image="http://c.saavncdn.com/1/A-150x150.jpg"), "image",
     "https://c.saavncdn.com/1/A-500x500.jpg"),
    ("?bch= kept", item(image="https://c.saavncdn.com/1/A-150x150.jpg?bch=1712817001"), "image",
     "https://c.saavncdn.com/1/A-500x500.jpg?bch=1712817001"),
    ("50x50 image upgraded", item(image="http://c.saavncdn.com/1/A-50x50.jpg"), "image",
     "https://c.saavncdn.com/1/A-500x500.jpg"),
    ("editorial image unchanged", item(image="https://c.saavncdn.com/editorial/Hits_20240101.jpg"), "image",
     "https://c.saavncdn.com/editorial/Hits_20240101.jpg"),
    ("empty image", item(image=""), "image", None),
    ("perma_url kept", item(), "url", "https://www.jiosaavn.com/album/aavesham/abc"),
    ("language is our code", item(language="Malayalam"), "language", "ml"),
    ("album has no album", item(), "album", None),
    ("song album from more_info", item(type="song", more_info__album="Manjummel Boys (Original Motion Picture Soundtrack)"),
     "album", "Manjummel Boys (Original Motion Picture Soundtrack)"),
    ("song album_id equal to song id", item(type="song", id="Ab1Cd2Ef", more_info__album_id="Ab1Cd2Ef",
                                            more_info__album="Leo &amp; Friends"), "album", "Leo & Friends"),
    ("song kind", item(type="song"), "kind", "song"),
    ("entities in artist names", item(more_info__artistMap={"primary_artists": [artist("455663", "Vishal &amp; Shekhar")]}),
     "artists", (Artist("455663", "Vishal & Shekhar"),)),
    ("leading space in artist id and name",
     item(more_info__artistMap={"primary_artists": [artist(" 4670197", " Stebin Ben")]}),
     "artists", (Artist("4670197", "Stebin Ben"),)),
    ("same artist twice in primary",
     item(more_info__artistMap={"primary_artists": [artist(" 4670197", " Stebin Ben"), artist("4670197", "Stebin Ben")]}),
     "artists", (Artist("4670197", "Stebin Ben"),)),
    ("primary, then featured, then others, each once",
     item(more_info__artistMap={
         "artists": [artist("3", "Composer", "music"), artist("1", "Singer", "singer"), artist("2", "Guest", "singer")],
         "featured_artists": [artist("2", "Guest", "featured_artists")],
         "primary_artists": [artist("1", "Singer")],
     }),
     "artists", (Artist("1", "Singer"), Artist("2", "Guest"), Artist("3", "Composer"))),
    ("same name under another id counts once",
     item(more_info__artistMap={"primary_artists": [artist("1", "Singer")], "artists": [artist("", "Singer", "singer")]}),
     "artists", (Artist("1", "Singer"),)),
    ("no artistMap", item(more_info={"release_date": "2024-04-11"}), "artists", ()),
]


@pytest.mark.parametrize(("raw", "field", "expected"), [case[1:] for case in QUIRKS], ids=[c[0] for c in QUIRKS])
def test_quirk_is_normalised(raw: dict[str, Any], field: str, expected: Any) -> None:
    release = normalise(raw)
    assert release is not None
    assert getattr(release, field) == expected


DROPPED = [
    ("playlist", item(type="playlist")),
    ("other language", item(language="hindi")),
    ("empty language", item(language="")),
    ("no id", item(id="  ")),
    ("no title", item(title="")),
]


@pytest.mark.parametrize("raw", [case[1] for case in DROPPED], ids=[case[0] for case in DROPPED])
def test_item_is_dropped(raw: dict[str, Any]) -> None:
    assert normalise(raw) is None


def test_raw_item_is_kept() -> None:
    raw = item()
    release = normalise(raw)
    assert release is not None and release.raw == raw and release.source == "jiosaavn"


def test_language_codes_map_to_jiosaavn_names_and_an_unknown_code_names_the_allowed_ones() -> None:
    assert jiosaavn_name("ml") == "malayalam" and jiosaavn_name("raj") == "rajasthani"
    assert code_for_name(" Odia ") == "or"
    with pytest.raises(ValueError, match=r"unknown language code 'xx'; allowed codes: ml, hi, ta"):
        jiosaavn_name("xx")


async def test_scopes_are_language_codes(upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, "http://127.0.0.1:9")
    assert source.scopes(["ml", "hi"]) == ["ml", "hi"]
    assert source.available and source.name == source.service == "jiosaavn"
    with pytest.raises(ValueError, match="allowed codes"):
        source.scopes(["ml", "klingon"])


# -- against the simulator ------------------------------------------------------------------------


async def test_pages_follow_until_last_page_and_keep_only_the_language_s_albums_and_songs(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, sim.url)
    pages = [await source.fetch_page("ml", p) for p in (1, 2, 3)]
    assert all(isinstance(page, Page) for page in pages)
    assert [page.last_page for page in pages] == [False, False, True]
    assert [page.received for page in pages] == [50, 50, 20]
    assert {page.total for page in pages} == {120}
    catalogue = await sim.catalogue(language="ml")
    kept = [entry["id"] for entry in catalogue if entry["kind"] != "playlist" and entry["language"] == "ml"]
    fetched = [release.external_id for page in pages for release in page.releases]
    assert sorted(fetched) == sorted(kept)
    newest_first = [entry["id"] for entry in catalogue]
    # newest first across pages, whatever the order inside a page
    assert max(newest_first.index(r.external_id) for r in pages[0].releases) < min(
        newest_first.index(r.external_id) for r in pages[1].releases
    )


def as_expected(release: Release) -> dict[str, Any]:
    return {
        "id": release.external_id, "kind": release.kind, "title": release.title, "language": release.language,
        "artists": [{"id": a.id, "name": a.name} for a in release.artists], "album": release.album,
        "release_date": release.release_date.isoformat() if release.release_date else None, "year": release.year,
        "image": release.image, "url": release.url, "play_count": release.play_count, "explicit": release.explicit,
    }


async def test_served_quirks_normalise_to_the_catalogue_truth(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    page = await JioSaavnSource(upstream_client, sim.url).fetch_page("ml", 1)
    assert isinstance(page, Page)
    raw_text = str([release.raw for release in page.releases])
    for quirk in ("&quot;", "&amp;", "&#039;", "'id': ' ", "http://", "?bch=", "'year': ''", "'play_count': ''"):
        assert quirk in raw_text, f"page 1 should exercise {quirk!r}"
    truth = {entry["id"]: entry for entry in await sim.catalogue(language="ml")}
    for release in page.releases:
        expected = {key: value for key, value in truth[release.external_id].items() if key != "index"}
        assert as_expected(release) == expected
    assert page.received - len(page.releases) >= 6  # playlists and other-language items were dropped


async def test_cookie_jar_cannot_switch_the_language(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, sim.url)
    first = await source.fetch_page("ml", 1)
    assert upstream_client.cookies.get("L") == "hindi"  # the trap is armed: the jar holds the geo cookie
    second = await source.fetch_page("ml", 2)
    assert isinstance(first, Page) and isinstance(second, Page)
    assert len(second.releases) > 40 and {r.language for r in second.releases} == {"ml"}
    assert (await sim.stats())["cookie_overrides"] == 0
    # and the trap is real: a request that lets the jar speak gets Hindi
    naive = await upstream_client.get(f"{sim.url}/api.php", params={"__call": "content.getAlbums", "languages": "malayalam"})
    assert {entry["language"] for entry in naive.json()["data"]} >= {"hindi"}
    assert (await sim.stats())["jiosaavn"] == {"ml": 2, "hi": 1}


async def test_released_now_appears_on_page_1(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    [added] = await sim.release(language="ml", kind="album", title="Thudakkam & Ending")
    page = await JioSaavnSource(upstream_client, sim.url).fetch_page("ml", 1)
    assert isinstance(page, Page) and page.total == 121
    [found] = [release for release in page.releases if release.external_id == added["id"]]
    assert found.raw["title"] == "Thudakkam &amp; Ending"  # sent encoded
    assert found.title == "Thudakkam & Ending" and found.release_date == dt.date(2026, 3, 14)


def http_date(seconds_from_now: float) -> str:
    return email.utils.format_datetime(
        dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds_from_now), usegmt=True
    )


FAILURES = [
    ("429 with seconds", {"kind": "status_429", "retry_after": 30}, FailureKind.RATE_LIMITED, 429, 30.0),
    ("429 without Retry-After", {"kind": "status_429"}, FailureKind.RATE_LIMITED, 429, None),
    ("503 with Retry-After", {"kind": "status_5xx", "retry_after": 7}, FailureKind.UPSTREAM_ERROR, 503, 7.0),
    ("500", {"kind": "status_5xx", "status": 500}, FailureKind.UPSTREAM_ERROR, 500, None),
    ("403", {"kind": "status", "status": 403}, FailureKind.BLOCKED, 403, None),
    ("404", {"kind": "status", "status": 404}, FailureKind.UPSTREAM_ERROR, 404, None),
    ("HTML page with 200", {"kind": "html"}, FailureKind.BLOCKED, 200, None),
    ("HTML page with 403", {"kind": "html", "status": 403}, FailureKind.BLOCKED, 403, None),
    ('{"status": "failure"}', {"kind": "error_json", "variant": "status_failure"}, FailureKind.UPSTREAM_ERROR, 200, None),
    ('{"error": {...}}', {"kind": "error_json", "variant": "error"}, FailureKind.UPSTREAM_ERROR, 200, None),
    ("LOGIN_REQUIRED", {"kind": "error_json", "variant": "login_required"}, FailureKind.BLOCKED, 200, None),
    ("[]", {"kind": "error_json", "variant": "empty_list"}, FailureKind.UPSTREAM_ERROR, 200, None),
    ("truncated JSON", {"kind": "truncated"}, FailureKind.UPSTREAM_ERROR, 200, None),
    ("302 to another host, not followed", {"kind": "redirect"}, FailureKind.UPSTREAM_ERROR, 302, None),
    ("Content-Encoding: gzip over a plain body", {"kind": "gzip_lie"}, FailureKind.UPSTREAM_ERROR, 200, None),
    ("slow answer", {"kind": "slow", "delay": 5}, FailureKind.TIMEOUT, None, None),
]


@pytest.mark.parametrize(("fault", "kind", "status", "retry_after"), [c[1:] for c in FAILURES], ids=[c[0] for c in FAILURES])
async def test_failure_shape_is_typed(
    sim: SimControl, upstream_client: httpx.AsyncClient, fault: dict[str, Any], kind: FailureKind,
    status: int | None, retry_after: float | None,
) -> None:
    await sim.inject(language="ml", count=1, **fault)
    source = JioSaavnSource(upstream_client, sim.url, timeout=0.5)
    failure = await source.fetch_page("ml", 2)
    assert isinstance(failure, Failure)
    assert (failure.source, failure.scope, failure.page) == ("jiosaavn", "ml", 2)
    assert (failure.kind, failure.status, failure.retry_after) == (kind, status, retry_after)
    assert failure.detail and "\n" not in failure.detail and len(failure.detail) < 200
    assert isinstance(await source.fetch_page("ml", 2), Page)  # count=1: the next answer is normal again


async def test_retry_after_as_http_date(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    await sim.inject("status_429", language="ml", retry_after=http_date(120))
    failure = await JioSaavnSource(upstream_client, sim.url).fetch_page("ml", 1)
    assert isinstance(failure, Failure) and failure.kind is FailureKind.RATE_LIMITED
    assert failure.retry_after is not None and 110 <= failure.retry_after <= 121


async def test_connection_refused_is_a_connect_failure(upstream_client: httpx.AsyncClient) -> None:
    failure = await JioSaavnSource(upstream_client, "http://127.0.0.1:9").fetch_page("ml", 1)
    assert isinstance(failure, Failure) and failure.kind is FailureKind.CONNECT and failure.status is None
    assert failure.detail.startswith("cannot connect to 127.0.0.1")


async def test_a_name_that_does_not_resolve_is_a_dns_failure(upstream_client: httpx.AsyncClient) -> None:
    # .invalid never resolves (RFC 6761)
    failure = await JioSaavnSource(upstream_client, "http://jiosaavn.invalid").fetch_page("ml", 1)
    assert isinstance(failure, Failure) and failure.kind is FailureKind.DNS
    assert failure.detail.startswith("cannot resolve jiosaavn.invalid")


async def test_empty_results_are_an_empty_last_page(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    await sim.inject("empty", language="ml")
    page = await JioSaavnSource(upstream_client, sim.url).fetch_page("ml", 1)
    assert page == Page("jiosaavn", "ml", 1, (), last_page=True, total=0, received=0)


async def test_request_is_the_sites_own(upstream_client: httpx.AsyncClient) -> None:
    upstream_client.cookies.set("L", "hindi")  # a jar already poisoned must not leak into the header
    request = JioSaavnSource(upstream_client, "https://www.jiosaavn.com/").request("malayalam", 3)
    assert str(request.url) == (
        "https://www.jiosaavn.com/api.php?__call=content.getAlbums&_format=json&_marker=0&api_version=4"
        "&ctx=web6dot0&n=50&p=3&languages=malayalam"
    )
    assert request.headers["Cookie"] == "L=malayalam; gdpr_acceptance=true; DL=english"
    assert request.headers["Referer"] == "https://www.jiosaavn.com/new-releases"
    assert request.headers["Accept"] == "application/json, text/plain, */*"
    assert "Mozilla/5.0" in request.headers["User-Agent"]
