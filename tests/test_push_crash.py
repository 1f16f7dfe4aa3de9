"""``kill -9`` of the daemon in the middle of push deliveries, then a restart: none lost, in order, and
only the messages in flight at the kill come twice (at least once; each under its release's Topic)."""

from __future__ import annotations

import signal

import trio

from tests.api_support import release, store
from tests.push_service import open_push_service
from tests.test_webhook_crash import vibed_run
from vibed.push import keys
from vibed.push import subscriptions as push_subscriptions
from vibed.vocab.release_filter import EVERYTHING

COUNT = 24
BROWSERS = 3
KILL_AFTER = 20  # messages received (over all browsers) before the kill -9


async def test_kill_9_mid_delivery_loses_no_push_and_repeats_only_those_in_flight(db, db_url, tmp_path):
    async with open_push_service() as push:
        push.receiver.delay = 0.1  # each answer takes a while: the kill finds some in flight
        browsers = [push.browser(f"b{i}") for i in range(BROWSERS)]
        for browser in browsers:
            await push_subscriptions.subscribe(db, push_subscriptions.NewSubscription(
                browser.endpoint, browser.p256dh, browser.auth, EVERYTHING), limit=100)
        await store(db, *(release(n, title=f"T{n:02}") for n in range(COUNT)))
        assert await db.fetchval("SELECT count(*) FROM push_outbox") == COUNT * BROWSERS

        async with vibed_run(db_url, tmp_path) as daemon:
            push.expect_key = await keys.public_key(db)  # made by this first start, kept for the next
            await push.wait_for(KILL_AFTER, timeout=30)
            daemon.kill()
            assert await daemon.wait() == -signal.SIGKILL
        before = push.count
        assert before < COUNT * BROWSERS
        # the dead sender's leases (timeout + 5 s) hold those lines; let them run out without waiting
        leased = int((await db.execute("UPDATE push_outbox SET next_attempt_at = now()"
                                       " WHERE state = 'pending' AND next_attempt_at > now()")).split()[-1])
        assert 1 <= leased <= BROWSERS  # at most one head in flight per subscription

        async with vibed_run(db_url, tmp_path) as daemon:
            with trio.fail_after(40):
                while await db.fetchval("SELECT count(*) FROM push_outbox WHERE state = 'delivered'") < COUNT * BROWSERS:
                    await trio.sleep(0.1)
            daemon.send_signal(signal.SIGTERM)
            assert await daemon.wait() == 0

    assert not push.rejected, push.rejected  # every message decrypted and signed by the one kept key
    event_ids = [r["id"] for r in await db.fetch("SELECT id FROM events ORDER BY id")]
    repeats = 0
    for browser in browsers:
        got = [m["event_id"] for m in push.messages[browser.name]]
        assert list(dict.fromkeys(got)) == event_ids  # none lost, in order
        repeated = [i for i in set(got) if got.count(i) > 1]
        assert len(repeated) <= 1 and all(got.count(i) == 2 for i in repeated)  # only the one in flight, once
        repeats += len(repeated)
    assert repeats <= leased
