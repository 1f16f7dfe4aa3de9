"""``kill -9`` of the daemon in the middle of webhook deliveries, then a restart: none lost,
none duplicated beyond the one in flight (sent again under the same ``webhook-id``), in order."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import trio

from tests.api_support import FAR_AWAY, NOWHERE, api_config, release, store
from tests.daemon_inproc import running_daemon
from tests.pipeline_support import LineReader
from tests.test_webhooks import FAST, LOCAL
from tests.webhook_receiver import open_receiver
from vibed.vocab.release_filter import EVERYTHING
from vibed.webhooks import outbox
from vibed.webhooks import subscriptions as webhooks
from vibed.webhooks.sender import SenderSettings
from vibed.webhooks.signing import new_secret

COUNT = 24
KILL_AFTER = 8  # deliveries received before the kill -9


@asynccontextmanager
async def vibed_run(db_url: str, workdir: Path, extra: dict[str, str] | None = None) -> AsyncIterator[trio.Process]:
    env = {**os.environ, "DATABASE_URL": db_url, "JIOSAAVN_BASE_URL": NOWHERE, "PORT": "0",
           "VIBED_HOST": "127.0.0.1", "VIBED_SCHEDULE": FAR_AWAY, "VIBED_DATA_DIR": str(workdir),
           "VIBED_GRACE_PERIOD": "3", "VIBED_WEBHOOK_ALLOW_HTTP": "true", "VIBED_WEBHOOK_ALLOW_CIDRS": "127.0.0.0/8",
           "VIBED_WEBHOOK_TIMEOUT": "1", **(extra or {})}  # the lease of a claimed delivery: timeout + 5 s
    for name in ("REDIS_URL", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "JWT_SECRET", "DEBUG"):
        env.pop(name, None)
    process = await trio.lowlevel.open_process(
        [sys.executable, "-m", "vibed.cli", "run"], cwd=workdir, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        reader = LineReader(process.stdout)
        with trio.fail_after(30):
            while True:
                line = await reader.readline()
                assert line is not None, "vibed exited:\n" + "\n".join(reader.lines[-20:])
                if line.startswith("{") and json.loads(line)["event"] == "daemon_ready":
                    break
        yield process
    finally:
        if process.returncode is None:
            process.kill()
        with trio.move_on_after(10):
            await process.wait()


async def test_kill_9_mid_delivery_loses_none_and_repeats_only_the_one_in_flight(db, db_url, tmp_path):
    async with open_receiver() as rx:
        rx.delay = 0.1  # each answer takes a while: the kill finds one in flight
        hook = await webhooks.create(db, url=rx.url, release_filter=EVERYTHING, format="generic",
                                     secret=new_secret(), owner="local")
        await store(db, *(release(n, title=f"T{n:02}") for n in range(COUNT)))
        outbox_ids = [r["id"] for r in await db.fetch("SELECT id FROM webhook_outbox ORDER BY id")]
        assert len(outbox_ids) == COUNT

        async with vibed_run(db_url, tmp_path) as daemon:
            await rx.wait_for(KILL_AFTER, timeout=30)
            daemon.kill()
            assert await daemon.wait() == -signal.SIGKILL
        in_flight = rx.received[-1].headers["webhook-id"]
        before = len(rx.received)
        assert before < COUNT
        # the dead sender's lease (timeout + 5 s) holds the line; let it run out without waiting for it
        leased = await db.execute("UPDATE webhook_outbox SET next_attempt_at = now()"
                                  " WHERE state = 'pending' AND next_attempt_at > now()")
        assert leased == "UPDATE 1", leased  # exactly the one in flight was leased

        async with vibed_run(db_url, tmp_path) as daemon:
            with trio.fail_after(40):  # every row recorded delivered: nothing more is sent
                while await db.fetchval("SELECT count(*) FROM webhook_outbox WHERE state = 'delivered'") < COUNT:
                    await trio.sleep(0.1)
            daemon.send_signal(signal.SIGTERM)
            assert await daemon.wait() == 0

    ids = [r.headers["webhook-id"] for r in rx.received]
    assert set(ids) == {f"msg_{i}" for i in outbox_ids}  # none lost
    repeated = [i for i in set(ids) if ids.count(i) > 1]
    assert repeated in ([], [in_flight])  # at least once: only the delivery cut short comes twice
    first_seen = list(dict.fromkeys(ids))
    assert first_seen == [f"msg_{i}" for i in outbox_ids]  # in order
    titles = [json.loads(r.body)["data"]["title"] for r in rx.received]
    in_event_order = [r["title"] for r in await db.fetch("SELECT payload->>'title' AS title FROM events ORDER BY id")]
    assert list(dict.fromkeys(titles)) == in_event_order and len(in_event_order) == COUNT
    states = await db.fetch("SELECT state, count(*) FROM webhook_outbox GROUP BY state")
    assert {r["state"]: r["count"] for r in states} == {"delivered": COUNT}
    assert hook["id"] > 0


async def test_a_dead_senders_lease_runs_out_for_real_and_the_delivery_is_sent_again(db, db_url):
    """No SQL reset: a sender claims the head and dies; the next one waits the lease out, then sends."""
    # VIBED_WEBHOOK_TIMEOUT=0.5 makes the lease (timeout + 5 s) 5.5 s: short, and waited out in full
    config = api_config(db_url, webhook_timeout=0.5, **LOCAL, **FAST)
    lease = SenderSettings.of(config).lease
    async with open_receiver() as rx:
        hook = await webhooks.create(db, url=rx.url, release_filter=EVERYTHING, format="generic",
                                     secret=new_secret(), owner="local")
        await store(db, release(1, title="Leased"))
        claimed = await outbox.claim_head(db, hook["id"], lease)  # the dead sender's claim, its last act
        assert claimed is not None and claimed.attempt == 1
        async with running_daemon(config):
            [got] = await rx.wait_for(1, timeout=lease + 15)
            with trio.fail_after(10):
                while (row := await db.fetchrow("SELECT * FROM webhook_outbox WHERE id = $1", claimed.id))[
                        "state"] != "delivered":
                    await trio.sleep(0.05)
    assert got.headers["webhook-id"] == f"msg_{claimed.id}" and json.loads(got.body)["data"]["title"] == "Leased"
    assert row["attempts"] == 2  # the dead one's, then this one
    waited = (row["last_attempt_at"] - row["created_at"]).total_seconds()
    assert waited >= lease - 0.5, f"sent again {waited:.2f} s after the claim, before its {lease} s lease ran out"
