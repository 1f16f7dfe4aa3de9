"""A fetched release travels the whole way: simulator → fetcher → writer (event + outbox row in one
transaction) → broadcaster wakes the sender → a signed POST to the receiver, with no polling delay."""

from __future__ import annotations

import pytest
import trio
from standardwebhooks.webhooks import Webhook

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from tests.pipeline_support import quiet_sim_settings
from tests.webhook_receiver import open_receiver
from vibed.simulator import SimSettings


@pytest.fixture
def sim_settings() -> SimSettings:
    return quiet_sim_settings()


async def test_a_fetched_release_reaches_the_receiver_woken_by_its_delivery_not_a_poll(db, db_url, sim_url, sim):
    async with open_receiver() as rx, running_daemon(api_config(
            db_url, jiosaavn_base_url=sim_url, languages="ml", webhook_allow_http=True,
            webhook_allow_cidrs="127.0.0.0/8", webhook_poll=3600)) as api:  # no polling: only a wake-up sends
        r = await api.client.post("/api/webhooks", json={"url": rx.url, "kind": "album"})
        assert r.status_code == 201, r.text
        secret = r.json()["secret"]
        assert api.runtime.services.webhooks.sender.settings.poll == 3600
        await sim.release(language="ml", kind="album", title="Straight Through", count=1)
        started = trio.current_time()
        assert (await api.client.post("/api/new-releases/fetch", json={"languages": ["ml"]})).status_code == 202
        with trio.fail_after(10):
            while not any(b"Straight Through" in got.body for got in rx.received):
                await rx.wait_for(len(rx.received) + 1)
        assert trio.current_time() - started < 5
        albums = await db.fetchval("SELECT count(*) FROM events WHERE payload->>'kind' = 'album'")
        await rx.wait_for(albums)
        with trio.fail_after(10):  # every outbox row delivered: nothing more will be sent
            while await db.fetchval("SELECT count(*) FROM webhook_outbox WHERE state <> 'delivered'"):
                await trio.sleep(0.05)
    assert len(rx.received) == albums and albums >= 1
    for got in rx.received:
        assert Webhook(secret).verify(got.body, got.headers)["data"]["kind"] == "album"
