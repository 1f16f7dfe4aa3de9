"""Spotify: client-credentials tokens, paging by ``next``, failures typed, and "gone" means no more calls."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
import trio

from tests.sim_fixtures import SimControl
from vibed.simulator import SimSettings
from vibed.sources import spotify_items
from vibed.sources.spotify import SpotifySource
from vibed.vocab.messages import Failure, FailureKind, Page, Release

SECRET = "s3cret-never-shown"


@pytest.fixture
def sim_settings() -> SimSettings:
    return SimSettings(
        seed=7, new_per_minute=0, today=dt.date(2026, 3, 14), spotify_client_id="app", spotify_client_secret=SECRET,
        token_expires_in=120,
    )


class FakeClock:
    """The source's idea of time, moved by hand (the simulator keeps its own, real one)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spotify(sim: SimControl, client: httpx.AsyncClient, *, secret: str = SECRET, **kwargs: Any) -> SpotifySource:
    return SpotifySource(client, sim.url, sim.url, "app", secret, **kwargs)


def as_expected(release: Release) -> dict[str, Any]:
    return {
        "id": release.external_id, "kind": release.kind, "title": release.title,
        "artists": [{"id": a.id, "name": a.name} for a in release.artists],
        "release_date": release.release_date.isoformat() if release.release_date else None, "year": release.year,
        "image": release.image, "url": release.url,
    }


async def test_pages_follow_next_until_null(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = spotify(sim, upstream_client, markets=["IN"])
    assert source.scopes(["ml", "hi"]) == ["IN"]
    pages = [await source.fetch_page("IN", p) for p in (1, 2, 3)]
    assert all(isinstance(page, Page) for page in pages)
    assert [page.last_page for page in pages] == [False, False, True]
    assert [len(page.releases) for page in pages] == [50, 50, 20] == [page.received for page in pages]
    truth = {entry["id"]: entry for entry in await sim.catalogue(market="IN")}
    for release in (r for page in pages for r in page.releases):
        expected = truth[release.external_id]
        assert as_expected(release) == {k: v for k, v in expected.items() if k not in ("index", "album_type")}
        assert release.language is None and release.source == "spotify"
    assert {truth[r.external_id]["album_type"] for r in pages[0].releases} == {"album", "single", "compilation"}
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (1, {"IN": 3})  # the token was cached


async def test_token_is_renewed_a_minute_before_expiry(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    clock = FakeClock()
    source = spotify(sim, upstream_client, clock=clock)
    assert isinstance(await source.fetch_page("IN", 1), Page)
    clock.now += 59  # expires_in=120: still more than 60 s left
    assert isinstance(await source.fetch_page("IN", 1), Page)
    assert (await sim.stats())["spotify_token"] == 1
    clock.now += 2
    assert isinstance(await source.fetch_page("IN", 1), Page)
    assert (await sim.stats())["spotify_token"] == 2


async def test_markets_fetched_together_share_one_token(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = spotify(sim, upstream_client, markets=["IN", "US"])
    async with trio.open_nursery() as nursery:
        for market in source.scopes([]):
            nursery.start_soon(source.fetch_page, market, 1)
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (1, {"IN": 1, "US": 1})


async def test_401_renews_the_token_once_and_retries(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = spotify(sim, upstream_client)
    assert isinstance(await source.fetch_page("IN", 1), Page)
    await sim.revoke_tokens()
    assert isinstance(await source.fetch_page("IN", 2), Page)
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (2, {"IN": 3})


async def test_401_after_renewal_is_auth(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    await sim.inject("status", status=401, market="IN")
    failure = await spotify(sim, upstream_client).fetch_page("IN", 1)
    assert isinstance(failure, Failure) and (failure.kind, failure.status) == (FailureKind.AUTH, 401)
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (2, {"IN": 2})  # once, not forever


async def test_refused_credentials_are_auth_without_the_secret(sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = spotify(sim, upstream_client, secret="wrong-" + SECRET)
    failure = await source.fetch_page("IN", 1)
    assert isinstance(failure, Failure) and (failure.kind, failure.status) == (FailureKind.AUTH, 401)
    assert "invalid_client" in failure.detail and SECRET not in failure.detail and SECRET not in repr(source)
    assert (await sim.stats())["spotify_new_releases"] == {}


@pytest.mark.parametrize("status", [403, 404])
async def test_removed_endpoint_is_gone_and_not_called_again(
    sim: SimControl, upstream_client: httpx.AsyncClient, status: int
) -> None:
    await sim.inject("spotify_removed", status=status)
    source = spotify(sim, upstream_client)
    first = await source.fetch_page("IN", 1)
    assert isinstance(first, Failure) and (first.kind, first.status) == (FailureKind.GONE, status)
    assert not source.available
    again = await source.fetch_page("IN", 1)
    assert isinstance(again, Failure) and again.kind is FailureKind.GONE
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (1, {"IN": 1})
    await sim.clear_faults()
    source.reset()
    assert source.available and isinstance(await source.fetch_page("IN", 1), Page)


FAILURES = [
    ("quota 429", {"kind": "status_429", "retry_after": 30, "reason": "QUOTA_EXCEEDED"},
     FailureKind.RATE_LIMITED, 429, 30.0, "QUOTA_EXCEEDED"),
    ("rolling-window 429", {"kind": "status_429", "retry_after": 4}, FailureKind.RATE_LIMITED, 429, 4.0, "429"),
    ("502", {"kind": "status_5xx", "status": 502}, FailureKind.UPSTREAM_ERROR, 502, None, "502"),
    ("truncated", {"kind": "truncated"}, FailureKind.UPSTREAM_ERROR, 200, None, "JSON"),
    ("HTML", {"kind": "html"}, FailureKind.BLOCKED, 200, None, "HTML"),
    ("slow", {"kind": "slow", "delay": 5}, FailureKind.TIMEOUT, None, None, "timed out"),
]


@pytest.mark.parametrize(("fault", "kind", "status", "retry_after", "says"), [c[1:] for c in FAILURES],
                         ids=[c[0] for c in FAILURES])
async def test_failure_shape_is_typed(
    sim: SimControl, upstream_client: httpx.AsyncClient, fault: dict[str, Any], kind: FailureKind,
    status: int | None, retry_after: float | None, says: str,
) -> None:
    await sim.inject(market="IN", count=1, **fault)
    source = spotify(sim, upstream_client, timeout=0.5)
    failure = await source.fetch_page("IN", 2)
    assert isinstance(failure, Failure) and (failure.source, failure.scope, failure.page) == ("spotify", "IN", 2)
    assert (failure.kind, failure.status, failure.retry_after) == (kind, status, retry_after)
    assert says in failure.detail and "\n" not in failure.detail
    assert source.available and isinstance(await source.fetch_page("IN", 2), Page)


TOKEN_FAILURES = [
    ("429", {"kind": "status_429", "retry_after": 30}, FailureKind.RATE_LIMITED, 429, 30.0, "accounts said 429"),
    ("503", {"kind": "status_5xx"}, FailureKind.UPSTREAM_ERROR, 503, None, "accounts failed with HTTP 503"),
    ("403 is not 'gone'", {"kind": "status", "status": 403}, FailureKind.UPSTREAM_ERROR, 403, None, "HTTP 403"),
    ("truncated", {"kind": "truncated"}, FailureKind.UPSTREAM_ERROR, 200, None, "invalid JSON"),
    ("HTML", {"kind": "html"}, FailureKind.BLOCKED, 200, None, "HTML"),
    ("error JSON, no token", {"kind": "error_json", "variant": "error"}, FailureKind.UPSTREAM_ERROR, 200, None,
     "no access_token"),
    ("slow", {"kind": "slow", "delay": 5}, FailureKind.TIMEOUT, None, None, "timed out"),
]


@pytest.mark.parametrize(("fault", "kind", "status", "retry_after", "says"), [c[1:] for c in TOKEN_FAILURES],
                         ids=[c[0] for c in TOKEN_FAILURES])
async def test_a_token_endpoint_failure_is_typed_spends_no_call_and_the_next_token_works(
    sim: SimControl, upstream_client: httpx.AsyncClient, fault: dict[str, Any], kind: FailureKind,
    status: int | None, retry_after: float | None, says: str,
) -> None:
    await sim.inject(source="spotify", scope="token", count=1, **fault)
    source = spotify(sim, upstream_client, timeout=0.5)
    failure = await source.fetch_page("IN", 1)
    assert isinstance(failure, Failure) and (failure.kind, failure.status, failure.retry_after) == (
        kind, status, retry_after)
    assert says in failure.detail and SECRET not in failure.detail
    assert (await sim.stats())["spotify_new_releases"] == {}  # no call without a token
    assert source.available and isinstance(await source.fetch_page("IN", 1), Page)


@pytest.mark.parametrize("expires_in", [float("nan"), -5, 0, True, "soon", None])
async def test_a_token_lifetime_that_means_nothing_is_upstream_trouble(
    sim: SimControl, upstream_client: httpx.AsyncClient, expires_in: Any,
) -> None:
    await sim.inject("token_expiry", source="spotify", scope="token", expires_in=expires_in, count=1)
    source = spotify(sim, upstream_client)
    failure = await source.fetch_page("IN", 1)
    assert isinstance(failure, Failure) and failure.kind is FailureKind.UPSTREAM_ERROR, failure
    assert "expires_in" in failure.detail and (await sim.stats())["spotify_new_releases"] == {}
    assert isinstance(await source.fetch_page("IN", 1), Page)


async def test_a_token_lifetime_as_text_is_read_and_one_past_a_day_is_renewed_after_a_day(
    sim: SimControl, upstream_client: httpx.AsyncClient,
) -> None:
    clock = FakeClock()
    source = spotify(sim, upstream_client, clock=clock)
    await sim.inject("token_expiry", source="spotify", scope="token", expires_in="3600", count=1)
    assert isinstance(await source.fetch_page("IN", 1), Page)
    assert isinstance(await source.fetch_page("IN", 2), Page)
    assert (await sim.stats())["spotify_token"] == 1  # "3600" is an hour, not trouble
    clock.now += 3600
    await sim.inject("token_expiry", source="spotify", scope="token", expires_in=1e308, count=1)
    assert isinstance(await source.fetch_page("IN", 1), Page)
    clock.now += 86400 - 59  # within RENEW_BEFORE_EXPIRY of a day: a new token, not 1e308 s of trust
    assert isinstance(await source.fetch_page("IN", 1), Page)
    assert (await sim.stats())["spotify_token"] == 3


async def test_unreachable_accounts_is_a_connect_failure(upstream_client: httpx.AsyncClient) -> None:
    source = SpotifySource(upstream_client, "http://127.0.0.1:9", "http://127.0.0.1:9", "app", SECRET)
    failure = await source.fetch_page("IN", 1)
    assert isinstance(failure, Failure) and failure.kind is FailureKind.CONNECT and source.available


DATES = [
    ("2026-03-14", "day", dt.date(2026, 3, 14), 2026, None),
    ("2026-03", "month", None, 2026, "2026-03"),
    ("2019", "year", None, 2019, "2019"),
    ("2026-02-30", "day", None, 2026, None),
    ("", "", None, None, None),
    ("2099-01-01", "day", None, None, None),  # far future: means nothing, must not sort first
    ("2099", "year", None, None, None),
]


@pytest.mark.parametrize(("value", "precision", "date", "year", "period"), DATES)
def test_release_date_follows_precision(value: str, precision: str, date: dt.date | None, year: int | None,
                                        period: str | None) -> None:
    assert spotify_items.release_date(value, precision) == (date, year, period)


def test_a_spotify_item_becomes_a_release_with_the_largest_image_and_unique_artists() -> None:
    item = {
        "album_type": "single", "id": "4aawyAB9vmqN3uQ7FjRGTy", "name": "Chaleya",
        "release_date": "2026-03-14", "release_date_precision": "day",
        "images": [{"url": "https://i.scdn.co/small", "height": 64, "width": 64},
                   {"url": "https://i.scdn.co/large", "height": 640, "width": 640},
                   {"url": "https://i.scdn.co/mid", "height": 300, "width": 300}],
        "artists": [{"id": "a1", "name": "Arijit Singh"}, {"id": "a1", "name": "Arijit Singh"}, {"id": "b2", "name": "Shilpa Rao"}],
        "external_urls": {"spotify": "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy"},
    }
    release = spotify_items.release(item)
    assert release is not None
    assert (release.kind, release.title, release.image, release.url, release.language) == (
        "album", "Chaleya", "https://i.scdn.co/large", "https://open.spotify.com/album/4aawyAB9vmqN3uQ7FjRGTy", None,
    )
    assert [a.name for a in release.artists] == ["Arijit Singh", "Shilpa Rao"]
    assert spotify_items.release({**item, "album_type": "podcast"}) is None
    assert spotify_items.release({**item, "id": ""}) is None
    assert spotify_items.largest_image([{"url": "https://i.scdn.co/x", "height": None, "width": None}]) == "https://i.scdn.co/x"
