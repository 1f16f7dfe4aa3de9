"""The simulator's trace mode: a seeded release schedule with drops and quiet hours, on a sped-up clock."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import pytest

from vibed.simulator.trace import IST, Trace

THURSDAY_NOON = dt.datetime(2026, 11, 26, 12, 0, tzinfo=IST).timestamp()


def per_hour(trace: Trace) -> dict[tuple[int, int], int]:
    counts: dict[tuple[int, int], int] = {}
    for t, _ in trace.schedule():
        when = dt.datetime.fromtimestamp(t, IST)
        counts[(when.weekday(), when.hour)] = counts.get((when.weekday(), when.hour), 0) + 1
    return counts


def test_the_schedule_is_seeded_with_a_friday_midnight_drop_and_a_quiet_afternoon() -> None:
    trace = Trace(seed=3, start=THURSDAY_NOON - 86400, hours=48)  # Wednesday noon to Friday noon
    assert trace.schedule() == Trace(seed=3, start=THURSDAY_NOON - 86400, hours=48).schedule()
    assert trace.schedule() != Trace(seed=4, start=THURSDAY_NOON - 86400, hours=48).schedule()
    counts = per_hour(trace)
    thursday_midnight, friday_midnight = counts.get((3, 0), 0), counts.get((4, 0), 0)
    assert friday_midnight > thursday_midnight > 3 * counts.get((3, 10), 0)  # the drops, Friday's bigger
    assert sum(counts.get((3, h), 0) for h in range(13, 18)) <= 3  # a quiet afternoon
    assert all(a <= b for a, b in zip(trace.schedule(), trace.schedule()[1:], strict=False))


async def test_the_simulator_publishes_what_the_trace_clock_has_passed(sim_url: str) -> None:
    # sim_settings below: a trace whose clock started 12 trace hours ago, at ×3600
    before = TRACE.due("ml", TRACE.now())
    async with httpx.AsyncClient() as client:
        answer = (await client.get(f"{sim_url}/api.php", params={
            "__call": "content.getAlbums", "_format": "json", "_marker": "0", "api_version": "4",
            "ctx": "web6dot0", "n": "50", "p": "1"}, headers={"Cookie": "L=malayalam"})).json()
    after = TRACE.due("ml", TRACE.now())
    assert 5 < before <= answer["count"] - 10 <= after  # the seed catalogue, then the trace's releases


TRACE = Trace(seed=5, start=THURSDAY_NOON, wall0=time.time() - 12, speed=3600.0, hours=24)


@pytest.fixture
def sim_settings():  # type: ignore[no-untyped-def]
    from vibed.simulator import SimSettings

    return SimSettings(seed_releases=10, new_per_minute=0, trace=TRACE)
