"""The Spotify source inside a running daemon: with both credentials set, a round fetches Spotify's new
releases from the simulator and stores them; when the account loses the endpoint, health says so."""

from __future__ import annotations

from typing import Any

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon


def spotify_daemon(db_url: str, sim_url: str) -> Any:  # an async context manager
    return running_daemon(api_config(
        db_url, jiosaavn_base_url=sim_url, spotify_api_url=sim_url, spotify_accounts_url=sim_url,
        spotify_client_id="sim-client-id", spotify_client_secret="sim-client-secret", languages="ml",
        spotify_markets="IN", page_cap=1))


async def test_a_round_fetches_spotify_releases_into_the_listing(db_url, sim, sim_url):
    async with spotify_daemon(db_url, sim_url) as daemon:
        assert set(daemon.runtime.services.pipeline.sources) == {"jiosaavn", "spotify"}
        asked = await daemon.client.post("/api/new-releases/fetch", json={"sources": ["spotify"]})
        assert asked.status_code == 202
        progress = await daemon.rounds.wait(asked.json()["round_id"])
        listing = (await daemon.client.get("/api/new-releases", params={"source": "spotify", "limit": 100})).json()
        health = (await daemon.client.get("/api/health")).json()
    assert (progress.requests, progress.errors) == (1, 0)
    stats = await sim.stats()
    assert (stats["spotify_token"], stats["spotify_new_releases"]) == (1, {"IN": 1})
    truth = {entry["id"] for entry in await sim.catalogue(market="IN")}
    ids = [item["external_id"] for item in listing["data"]]
    assert len(ids) == 50 and set(ids) <= truth
    assert {item["source"] for item in listing["data"]} == {"spotify"}
    assert health["sources"]["spotify"]["available"] is True
    assert health["sources"]["spotify"]["scopes"]["IN"]["consecutive_failures"] == 0


async def test_a_spotify_account_that_lost_the_endpoint_degrades_health_with_the_reason(db_url, sim, sim_url):
    await sim.inject("spotify_removed", status=404)
    async with spotify_daemon(db_url, sim_url) as daemon:
        asked = await daemon.client.post("/api/new-releases/fetch", json={"sources": ["spotify"]})
        progress = await daemon.rounds.wait(asked.json()["round_id"])
        health = (await daemon.client.get("/api/health")).json()
    assert progress.errors == 1
    assert health["status"] == "degraded"
    assert health["sources"]["spotify"]["available"] is False
    assert "spotify: gone for this account (new-releases answered 403/404)" in health["reasons"]
