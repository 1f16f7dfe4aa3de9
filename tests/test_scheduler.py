"""The scheduler's timing, on trio's autojump clock: cron times, pokes, coalescing, no overlap.

The scheduler is driven through its real channel contract: pokes go in through ``Control``,
jobs come out on a channel whose consumers (stand-ins for the fetchers) mark each job done.
The wall clock it reads is trio's clock, so a cron time is a trio time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import attrs
import pytest
import trio

from vibed.pipeline.control import Control
from vibed.pipeline.fetcher import report
from vibed.pipeline.scheduler import Scheduler
from vibed.vocab.messages import FetchJob, JobDone, Poke

START = dt.datetime(2026, 11, 28, 10, 3, 20, tzinfo=dt.UTC)  # trio time 0 of each test
MINUTE = 60.0


@attrs.define
class FakeSource:
    available: bool = True

    def scopes(self, languages: Sequence[str]) -> list[str]:
        return list(languages)


@attrs.define(eq=False)
class Harness:
    """A scheduler, its Control and `fetchers` job consumers that take `job_seconds` per job."""

    scheduler: Scheduler
    control: Control
    job_seconds: float
    jobs: list[tuple[float, FetchJob]] = attrs.field(factory=list)  # (trio time received, job)
    rounds: list[tuple[float, float, str, str]] = attrs.field(factory=list)  # (start, end, origin, id)
    busy: int = 0
    most_busy: int = 0
    round_seen: trio.Event = attrs.field(factory=trio.Event)

    async def consume(self, jobs: trio.MemoryReceiveChannel[FetchJob]) -> None:
        async with jobs:
            async for job in jobs:
                self.jobs.append((trio.current_time(), job))
                self.busy += 1
                self.most_busy = max(self.most_busy, self.busy)
                await trio.sleep(self.job_seconds)
                self.busy -= 1
                report(job, JobDone(job.round_id, job.source, job.scope))  # the fetcher's answer: nothing fetched

    def on_round(self, progress: Any) -> None:
        self.rounds.append((progress.started, trio.current_time(), progress.origin, progress.id))
        self.round_seen.set()
        self.round_seen = trio.Event()

    async def until_rounds(self, count: int) -> None:
        while len(self.rounds) < count:
            await self.round_seen.wait()

    def starts(self) -> list[float]:
        return [start for start, *_ in self.rounds]


async def start_harness(nursery: trio.Nursery, *, schedule: str = "*/10 * * * *", job_seconds: float = 1.0,
                        languages: tuple[str, ...] = ("ml", "hi", "ta"), fetchers: int = 2) -> Harness:
    zero = trio.current_time()

    def now() -> dt.datetime:
        return START + dt.timedelta(seconds=trio.current_time() - zero)

    config = SimpleNamespace(schedule=schedule, languages=languages, page_cap=3)
    pokes_s, pokes_r = trio.open_memory_channel[Poke](1)  # as the wiring sizes them
    jobs_s, jobs_r = trio.open_memory_channel[FetchJob](0)
    control = Control(pokes_s)
    scheduler = Scheduler(config, {"jiosaavn": FakeSource()}, now=now, take_poke=control.take)
    harness = Harness(scheduler, control, job_seconds)
    scheduler.on_round = harness.on_round
    for _ in range(fetchers):
        nursery.start_soon(harness.consume, jobs_r.clone())
    jobs_r.close()
    await nursery.start(scheduler.run, pokes_r, jobs_s)
    return harness


async def test_cron_rounds_fire_at_the_cron_times(nursery, autojump_clock):
    harness = await start_harness(nursery)
    await harness.until_rounds(3)
    # 10:03:20 + 400 s = 10:10, then 10:20 and 10:30
    assert harness.starts() == [400, 1000, 1600]
    assert [origin for _, _, origin, _ in harness.rounds] == ["cron"] * 3
    first_round = [job for _, job in harness.jobs if job.round_id == harness.rounds[0][3]]
    assert [(job.source, job.scope) for job in first_round] == [("jiosaavn", "ml"), ("jiosaavn", "hi"),
                                                               ("jiosaavn", "ta")]
    [slot] = {job.slot for job in first_round}
    assert slot.startswith("2026-11-28T10:10")  # the cron time names the slot (its format is the store's)
    assert {job.max_pages for job in first_round} == {3}


async def test_an_hourly_schedule_waits_for_the_hour(nursery, autojump_clock):
    harness = await start_harness(nursery, schedule="0 * * * *")
    await harness.until_rounds(2)
    assert harness.starts() == [56 * MINUTE + 40, 116 * MINUTE + 40]  # 11:00 and 12:00


async def test_a_poke_between_cron_times_leaves_the_next_cron_round_in_place(nursery, autojump_clock):
    harness = await start_harness(nursery)
    await trio.sleep(100)  # 10:05
    requested = harness.control.request_round("http")
    await harness.until_rounds(3)
    assert [(start, origin) for start, _, origin, _ in harness.rounds] == [
        (100, "http"), (400, "cron"), (1000, "cron")]
    assert harness.rounds[0][3] == requested.round_id
    poked = [job for _, job in harness.jobs if job.round_id == requested.round_id]
    assert {job.slot for job in poked} == {requested.round_id}  # a poke is never "this cron slot"


async def test_pokes_during_a_round_coalesce_into_at_most_one_more_round(nursery, autojump_clock):
    harness = await start_harness(nursery, job_seconds=30)
    first = harness.control.request_round("http", languages=("ml",))
    await trio.sleep(5)  # the first round is running now
    asked = [harness.control.request_round("signal", languages=(lang,)) for lang in ("hi", "ta", "hi")]
    asked += [harness.control.request_round("http", languages=("hi",)) for _ in range(20)]
    assert not first.coalesced
    assert not asked[0].coalesced and all(a.coalesced for a in asked[1:])
    assert {a.round_id for a in asked} == {asked[0].round_id}

    await harness.until_rounds(2)
    await trio.sleep(300)  # nothing more until the cron time (10:10 = 400 s)
    assert [(start, origin) for start, _, origin, _ in harness.rounds] == [(0, "http"), (30, "signal")]
    second = [job.scope for _, job in harness.jobs if job.round_id == asked[0].round_id]
    assert sorted(second) == ["hi", "ta"]  # the queued round was widened to what was asked


async def test_rounds_never_overlap_and_a_cron_time_missed_during_a_round_is_not_made_up(
        nursery, autojump_clock):
    harness = await start_harness(nursery, job_seconds=700, fetchers=3)  # one round: 700 s
    await trio.sleep(450)  # the 10:10 round is running
    harness.control.request_round("http")
    await harness.until_rounds(3)
    assert [(start, origin) for start, _, origin, _ in harness.rounds] == [
        (400, "cron"), (1100, "http"), (2200, "cron")]  # 10:20 and 10:30 passed during rounds: 10:40
    for (_, end, _, _), (start, _, _, _) in zip(harness.rounds, harness.rounds[1:], strict=False):
        assert end <= start
    for _, _, _, round_id in harness.rounds:
        received = [t for t, job in harness.jobs if job.round_id == round_id]
        assert len(received) == 3
    assert harness.most_busy == 3  # the jobs of one round run side by side, never two rounds'


@pytest.mark.parametrize("available", [True, False])
async def test_an_unavailable_source_gets_no_jobs_and_its_round_still_ends(nursery, autojump_clock, available):
    harness = await start_harness(nursery)
    harness.scheduler.sources = {"spotify": FakeSource(available=available)}
    harness.control.request_round("http")
    await harness.until_rounds(1)
    assert len(harness.jobs) == (3 if available else 0)
    assert harness.rounds[0][0] == 0


async def test_a_round_asked_of_a_stopping_scheduler_is_dropped_and_says_so():
    pokes_s, pokes_r = trio.open_memory_channel[Poke](1)
    control = Control(pokes_s)
    pokes_r.close()  # the scheduler is gone: nobody will run this round
    asked = await control.ask_round("http", ("ml",))
    assert asked.dropped == "the scheduler is not taking rounds (this process is stopping)" and not asked.coalesced
