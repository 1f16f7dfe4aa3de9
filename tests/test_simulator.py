"""The simulator itself: the shapes and quirks it serves, its growth, faults, stats and control endpoints."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.sim_fixtures import SimControl
from vibed.simulator import Fault, SimSettings
from vibed.simulator.catalogue import Catalogue

SETTINGS = SimSettings(seed=7, new_per_minute=0, today=dt.date(2026, 3, 14), quirks={"other_language"})


@pytest.fixture
def sim_settings() -> SimSettings:
    return SETTINGS  # every quirk on, the other-language items included
PARAMS = {"__call": "content.getAlbums", "_format": "json", "_marker": "0", "api_version": "4", "ctx": "web6dot0"}


async def jiosaavn_page(sim: SimControl, language: str = "malayalam", page: int = 1, **kwargs: Any) -> httpx.Response:
    params = {**PARAMS, "n": "50", "p": str(page), "languages": language}
    response = await sim.client.get(f"{sim.url}/api.php", params=params, **kwargs)
    sim.client.cookies.clear()  # forget the geo cookie, or the next request would be answered in Hindi
    return response


def artists_of(item: dict[str, Any]) -> list[dict[str, str]]:
    return [a for group in item["more_info"]["artistMap"].values() for a in group]


def has_duplicate_artist(item: dict[str, Any]) -> bool:
    ids = [a["id"].strip() for a in artists_of(item)]
    return len(ids) != len(set(ids))


QUIRKS: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
    ("numbers are strings", lambda i: isinstance(i["play_count"], str) and i["play_count"].isdigit()),
    ('missing numbers are ""', lambda i: i["play_count"] == ""),
    ("empty year", lambda i: i["year"] == ""),
    ('song_count is "0"', lambda i: i["more_info"].get("song_count") == "0"),
    ("&quot; in a title", lambda i: "&quot;" in i["title"]),
    ("raw quote in a title", lambda i: '"' in i["title"]),
    ("&amp; in a title", lambda i: "&amp;" in i["title"]),
    ("raw & in a title", lambda i: " & " in i["title"]),
    ("&#039; in a title", lambda i: "&#039;" in i["title"]),
    ("leading space in an artist id", lambda i: any(a["id"].startswith(" ") for a in artists_of(i))),
    ("leading space in an artist name", lambda i: any(a["name"].startswith(" ") for a in artists_of(i))),
    ("the same artist twice", has_duplicate_artist),
    ("a song", lambda i: i["type"] == "song"),
    ("a playlist", lambda i: i["type"] == "playlist"),
    ("another language", lambda i: i["language"] != "malayalam"),
    ("http:// image", lambda i: i["image"].startswith("http://")),
    ("?bch= image", lambda i: "-150x150.jpg?bch=" in i["image"]),
    ("editorial image", lambda i: "-150x150" not in i["image"]),
    ("album_id equals song id", lambda i: i["type"] == "song" and i["more_info"]["album_id"] == i["id"]),
    ("explicit", lambda i: i["explicit_content"] == "1"),
]


@pytest.mark.parametrize("check", [q[1] for q in QUIRKS], ids=[q[0] for q in QUIRKS])
async def test_every_page_shows_the_quirk(sim: SimControl, check: Callable[[dict[str, Any]], bool]) -> None:
    for page in (1, 2):
        body = (await jiosaavn_page(sim, page=page)).json()
        assert any(check(item) for item in body["data"])


async def test_a_page_holds_the_newest_fifty_but_not_in_order_and_sets_the_language_cookie(sim: SimControl) -> None:
    response = await jiosaavn_page(sim)
    assert response.headers["set-cookie"].startswith("L=hindi")
    body = response.json()
    assert (body["count"], body["last_page"], len(body["data"])) == (120, False, 50)
    catalogue = [entry["id"] for entry in await sim.catalogue(language="ml")]
    served = [item["id"] for item in body["data"]]
    assert sorted(served) == sorted(catalogue[:50])  # the newest 50...
    assert served != catalogue[:50]  # ...but not in order inside the page
    last = (await jiosaavn_page(sim, page=3)).json()
    assert (last["last_page"], len(last["data"])) == (True, 20)
    assert (await jiosaavn_page(sim, page=4)).json() == {"count": 120, "last_page": True, "data": []}


async def test_language_from_param_then_cookie_then_hindi(sim: SimControl) -> None:
    async def languages(**kwargs: Any) -> set[str]:
        response = await sim.client.get(f"{sim.url}/api.php", **kwargs)
        sim.client.cookies.clear()
        return {item["language"] for item in response.json()["data"] if item["type"] != "playlist"}

    assert "tamil" in await languages(params={**PARAMS, "languages": "tamil"})
    assert "telugu" in await languages(params=PARAMS, headers={"Cookie": "L=telugu"})
    assert "hindi" in await languages(params=PARAMS)
    # the trap: a contradicting cookie wins, as on the site
    assert "hindi" in await languages(params={**PARAMS, "languages": "tamil"}, headers={"Cookie": "L=hindi"})
    assert (await sim.stats())["cookie_overrides"] == 1


async def test_release_appears_first(sim: SimControl) -> None:
    added = await sim.release(language="ml", kind="song", title="Puthiya Pattu", count=3)
    assert [entry["title"] for entry in added] == ["Puthiya Pattu"] * 3
    assert [entry["kind"] for entry in added] == ["song"] * 3
    newest = await sim.catalogue(language="ml")
    assert [entry["id"] for entry in newest[:3]] == [entry["id"] for entry in reversed(added)]
    first_page = {item["id"] for item in (await jiosaavn_page(sim)).json()["data"]}
    assert {entry["id"] for entry in added} <= first_page


def test_catalogue_grows_with_trio_time() -> None:
    catalogue = Catalogue(SimSettings(seed=1, seed_releases=10, new_per_minute=2, today=dt.date(2026, 3, 14)), started=100.0)
    assert len(catalogue.newest_first("ml", now=100.0)) == 10
    assert len(catalogue.newest_first("ml", now=129.0)) == 10
    grown = catalogue.newest_first("ml", now=161.0)
    assert len(grown) == 12 and grown[0].release_date == dt.date(2026, 3, 14)
    assert [r.release_date for r in grown[2:]] == sorted((r.release_date for r in grown[2:]), reverse=True)
    assert grown[-1].release_date == dt.date(2026, 3, 14) - dt.timedelta(days=180)


def test_catalogue_is_deterministic_per_seed() -> None:
    def ids(seed: int) -> list[str]:
        settings = SimSettings(seed=seed, seed_releases=30, today=dt.date(2026, 3, 14))
        return [r.id + r.title for r in Catalogue(settings, started=0.0).newest_first("ta", now=0.0)]

    assert ids(3) == ids(3)
    assert ids(3) != ids(4)


async def test_fault_count_and_scope(sim: SimControl) -> None:
    await sim.inject("status_429", language="ml", retry_after=30, count=2)
    statuses = [(await jiosaavn_page(sim)).status_code for _ in range(3)]
    assert statuses == [429, 429, 200]
    await sim.inject("status_5xx", language="ml")
    assert (await jiosaavn_page(sim, language="hindi")).status_code == 200  # other languages unaffected
    broken = await jiosaavn_page(sim)
    assert broken.status_code == 503 and broken.headers["set-cookie"].startswith("L=hindi")
    await sim.clear_faults()
    assert (await jiosaavn_page(sim)).status_code == 200


async def test_html_truncated_and_error_json_faults_send_what_jiosaavn_sends(sim: SimControl) -> None:
    await sim.inject("html", count=1)
    html = await jiosaavn_page(sim)
    assert html.headers["content-type"].startswith("text/html") and html.text.startswith("<HTML><HEAD>")
    await sim.inject("truncated", count=1)
    with pytest.raises(ValueError):
        (await jiosaavn_page(sim)).json()
    await sim.inject("error_json", variant="login_required", count=1)
    assert (await jiosaavn_page(sim)).json() == {"code": "LOGIN_REQUIRED", "msg": "Please login to continue"}


async def test_bad_fault_is_refused(sim: SimControl) -> None:
    response = await sim.client.post(f"{sim.url}/_sim/faults", json={"kind": "meteor"})
    assert response.status_code == 400 and "kind must be one of" in response.json()["error"]
    response = await sim.client.post(f"{sim.url}/_sim/faults", json={"kind": "status"})
    assert response.status_code == 400 and '"status"' in response.json()["error"]


def test_a_fault_is_read_from_json_and_an_unknown_field_is_refused() -> None:
    fault = Fault.from_json({"language": "ml", "kind": "status_429", "retry_after": 30, "count": 2})
    assert fault == Fault("status_429", scope="ml", count=2, retry_after=30)
    with pytest.raises(ValueError, match="unknown fault field"):
        Fault.from_json({"kind": "html", "colour": "red"})


async def test_spotify_needs_a_client_credentials_token_and_pages_by_offset(sim: SimControl) -> None:
    token_url, releases_url = f"{sim.url}/api/token", f"{sim.url}/v1/browse/new-releases"
    refused = await sim.client.post(token_url, data={"grant_type": "client_credentials"}, auth=("sim-client-id", "nope"))
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"
    assert (await sim.client.get(releases_url)).status_code == 401
    granted = await sim.client.post(
        token_url, data={"grant_type": "client_credentials"}, auth=("sim-client-id", "sim-client-secret")
    )
    assert granted.json()["token_type"] == "Bearer" and granted.json()["expires_in"] == 3600
    headers = {"Authorization": f"Bearer {granted.json()['access_token']}"}
    url: str | None = f"{releases_url}?limit=50&offset=0&country=IN"
    seen = 0
    while url is not None:
        assert url.startswith(sim.url)
        albums = (await sim.client.get(url, headers=headers)).json()["albums"]
        seen += len(albums["items"])
        url = albums["next"]
    assert seen == 120
    stats = await sim.stats()
    assert stats == {"jiosaavn": {}, "spotify_token": 2, "spotify_new_releases": {"IN": 4},
                     "cookie_overrides": 0, "total": 6, "log": []}
    await sim.reset_stats()
    assert (await sim.stats())["total"] == 0
