"""Digests and quiet hours of notification targets, on shortened periods and a quiet window of a few
seconds: a live daemon, a real PostgreSQL, Apprise's json:// plugin sending to a real receiver.

The digest's state is the outbox rows and their created_at (PostgreSQL), so ``kill -9`` in the middle
of a period, and a daemon that is down across the boundary, lose and repeat nothing.
"""

from __future__ import annotations

import datetime as dt
import signal

import trio

from tests.api_support import release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, db_now, local_clock, messages
from tests.test_webhook_crash import vibed_run
from tests.webhook_receiver import open_receiver
from vibed.targets import registry
from vibed.targets.schedule import next_boundary, parse_tz
from vibed.vocab.release_filter import EVERYTHING

KOLKATA = "Asia/Kolkata"


async def just_after_a_boundary(db, period: float, tz: str) -> dt.datetime:
    """Sleep until a digest boundary has just passed (by the database's clock); that boundary."""
    now = await db_now(db)
    boundary = next_boundary(now, period, parse_tz(tz))
    await trio.sleep((boundary - now).total_seconds() + 0.2)
    return boundary


async def test_an_hourly_digest_arrives_once_at_the_boundary_with_every_release_of_its_period(db, db_url):
    period = 3.0
    async with open_receiver() as rx, running_daemon(config(db_url, notify_hourly="3s")) as api:
        target = await add_target(api, f"json://127.0.0.1:{rx.port}/hook", digest="hourly", tz=KOLKATA)
        assert (target["digest"], target["tz"]) == ("hourly", KOLKATA)
        start = await just_after_a_boundary(db, period, KOLKATA)
        for n in range(3):
            await store(db, release(n, title=f"Ml {n}", artist="Sushin Shyam" if n else "Vedan"))
        await store(db, release(9, language="hi", title="Hi 9", artist="Pritam"))
        await trio.sleep(max(0.0, (start + dt.timedelta(seconds=period) - await db_now(db)).total_seconds() - 0.4))
        assert rx.received == []  # nothing before the boundary
        [got] = messages(await rx.wait_for(1, timeout=10))
        await trio.sleep(2 * period)  # the next boundaries bring nothing: every release went once
        assert len(rx.received) == 1
    assert got["title"] == "Hourly digest: 4 new releases"
    assert got["message"].splitlines() == ["Malayalam (3)", "  Sushin Shyam: Ml 1, Ml 2", "  Vedan: Ml 0",
                                           "Hindi (1)", "  Pritam: Hi 9"]
    rows = await db.fetch("SELECT state, message_id, delivered_at FROM notify_outbox")
    assert len(rows) == 4 and {r["state"] for r in rows} == {"delivered"} and len({r["message_id"] for r in rows}) == 1
    assert min(r["delivered_at"] for r in rows) >= start + dt.timedelta(seconds=period)


async def test_quiet_hours_hold_releases_and_release_them_as_one_message(db, db_url):
    now = await db_now(db)
    begins, ends = now - dt.timedelta(seconds=2), now + dt.timedelta(seconds=5)
    quiet = f"{local_clock(begins, KOLKATA)}-{local_clock(ends, KOLKATA)}"
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        target = await add_target(api, f"json://127.0.0.1:{rx.port}/hook", quiet_hours=quiet, tz=KOLKATA)
        assert target["quiet_hours"] == quiet
        for n in range(3):
            await store(db, release(n, title=f"Night {n}"))
        await trio.sleep(1.0)
        assert rx.received == [] and await db_now(db) < ends  # held
        [held] = messages(await rx.wait_for(1, timeout=15))
        await store(db, release(7, title="Morning"))  # quiet hours are over: at once, on its own
        got = messages(await rx.wait_for(2))
    assert held["title"] == "While quiet hours lasted: 3 new Malayalam releases"
    assert all(f"Night {n}" in held["message"] for n in range(3))
    assert got[1]["title"] == "New album: Morning"
    first = await db.fetchval("SELECT min(delivered_at) FROM notify_outbox")
    assert first >= ends.replace(microsecond=0)  # quiet hours are kept to the second


async def test_kill_9_mid_digest_and_a_daemon_down_across_the_boundary_lose_and_repeat_nothing(db, db_url, tmp_path):
    period = 12.0
    env = {"VIBED_NOTIFY_HOURLY_PERIOD": "12s", "VIBED_NOTIFY_POLL": "0.1"}
    async with open_receiver() as rx:
        await registry.create(db, registry.NewTarget(
            owner="local", url=f"json://127.0.0.1:{rx.port}/hook", shown_url="json://127.0.0.1/hook",
            service="json", release_filter=EVERYTHING, watch_id=None, digest="hourly", quiet=None, tz="UTC"))
        # 1. killed in the middle of a period: releases before and after the kill go in its one digest
        async with vibed_run(db_url, tmp_path, env) as daemon:
            start = await just_after_a_boundary(db, period, "UTC")
            await store(db, *(release(n, title=f"Before {n}") for n in range(3)))
            await trio.sleep(0.3)
            daemon.kill()
            assert await daemon.wait() == -signal.SIGKILL
        await store(db, release(3, title="While down 3"), release(4, title="While down 4"))
        assert rx.received == []
        async with vibed_run(db_url, tmp_path, env) as daemon:
            [first] = messages(await rx.wait_for(1, timeout=period + 10))
            assert await db_now(db) >= start + dt.timedelta(seconds=period)
            with trio.fail_after(10):  # recorded sent (a kill before that would send it again: at least once)
                while await db.fetchval("SELECT count(*) FROM notify_outbox WHERE state = 'delivered'") < 5:
                    await trio.sleep(0.05)
            # 2. down across the next boundary: its digest goes once, when the daemon is back
            await store(db, release(5, title="Late 5"), release(6, title="Late 6"))
            daemon.kill()
            assert await daemon.wait() == -signal.SIGKILL
        await trio.sleep(period + 0.5)
        assert len(rx.received) == 1
        async with vibed_run(db_url, tmp_path, env) as daemon:
            await rx.wait_for(2, timeout=15)
            await trio.sleep(period + 1)  # a boundary more: nothing is repeated
            daemon.send_signal(signal.SIGTERM)
            assert await daemon.wait() == 0
    got = messages(rx.received)
    assert len(got) == 2
    assert first["title"] == "Hourly digest: 5 new Malayalam releases"
    assert all(t in first["message"] for t in ("Before 0", "Before 1", "Before 2", "While down 3", "While down 4"))
    assert got[1]["title"] == "Hourly digest: 2 new Malayalam releases"
    assert "Late 5" in got[1]["message"] and "Late 6" in got[1]["message"]
    states = await db.fetch("SELECT state, count(*) AS n, count(DISTINCT message_id) AS m FROM notify_outbox GROUP BY 1")
    assert [(r["state"], r["n"], r["m"]) for r in states] == [("delivered", 7, 2)]
