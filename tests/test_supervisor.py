"""The supervisor's restart policy, on Trio's autojump clock (no real waiting)."""

from __future__ import annotations

import random

import pytest
import trio

from vibed.supervisor import RestartPolicy, Supervisor, TooManyCrashes


class Flaky:
    """An actor that crashes on its first ``crashes`` runs, then runs until its input ends."""

    def __init__(self, crashes: int) -> None:
        self.crashes = crashes
        self.starts: list[float] = []
        self.stop = trio.Event()

    async def run(self, *, task_status=trio.TASK_STATUS_IGNORED):
        self.starts.append(trio.current_time())
        task_status.started()
        await trio.sleep(1)
        if len(self.starts) <= self.crashes:
            raise RuntimeError(f"boom {len(self.starts)}")
        await self.stop.wait()


async def test_crashed_actor_is_restarted_with_growing_jittered_delays(autojump_clock):
    policy = RestartPolicy(base_delay=1, max_delay=8, max_restarts=10, window=600)
    sup = Supervisor(policy=policy, rng=random.Random(7))
    actor = Flaky(crashes=4)
    async with trio.open_nursery() as nursery:
        await sup.start(nursery, "flaky", actor.run)
        while len(actor.starts) < 5:
            await trio.sleep(1)
        gaps = [b - a - 1 for a, b in zip(actor.starts, actor.starts[1:], strict=False)]  # minus the 1 s it ran
        caps = [1, 2, 4, 8]
        for gap, cap in zip(gaps, caps, strict=False):
            assert cap / 2 <= gap <= cap + 1e-9  # equal jitter: between half and all of the cap
        (status,) = sup.statistics()
        assert (status.name, status.state, status.restarts) == ("flaky", "running", 4)
        assert status.last_error == "RuntimeError: boom 4"
        actor.stop.set()
    assert sup.statistics()[0].state == "finished"


async def test_delay_is_capped(autojump_clock):
    policy = RestartPolicy(base_delay=1, max_delay=5, max_restarts=100, window=10_000)
    assert all(policy.delay(n, random.Random(n)) <= 5 for n in range(1, 40))


async def test_too_many_crashes_in_the_window_gives_up(autojump_clock):
    policy = RestartPolicy(base_delay=0.1, max_delay=0.1, max_restarts=3, window=60)
    sup = Supervisor(policy=policy)
    actor = Flaky(crashes=100)
    with pytest.RaisesGroup(pytest.RaisesExc(
            TooManyCrashes, match="actor 'doomed' crashed 4 times in 60s; last error: RuntimeError")):
        async with trio.open_nursery() as nursery:
            await sup.start(nursery, "doomed", actor.run)
    assert len(actor.starts) == 4
    assert sup.statistics()[0].state == "failed"


async def test_crashes_spread_beyond_the_window_never_give_up(autojump_clock):
    policy = RestartPolicy(base_delay=0.1, max_delay=0.1, max_restarts=2, window=5)

    class SlowCrasher(Flaky):
        async def run(self, *, task_status=trio.TASK_STATUS_IGNORED):
            self.starts.append(trio.current_time())
            task_status.started()
            await trio.sleep(10)  # longer than the window: old crashes age out
            if len(self.starts) <= self.crashes:
                raise RuntimeError("late boom")
            await self.stop.wait()

    sup = Supervisor(policy=policy)
    actor = SlowCrasher(crashes=6)
    async with trio.open_nursery() as nursery:
        await sup.start(nursery, "slow", actor.run)
        while len(actor.starts) < 7:
            await trio.sleep(1)
        assert sup.statistics()[0].restarts == 6
        actor.stop.set()


async def test_one_actor_crashing_does_not_disturb_another(autojump_clock):
    sup = Supervisor(policy=RestartPolicy(base_delay=0.5, max_delay=0.5, max_restarts=50, window=60))
    ticks: list[float] = []
    stop = trio.Event()

    async def steady(*, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        while not stop.is_set():
            ticks.append(trio.current_time())
            await trio.sleep(1)

    flaky = Flaky(crashes=5)
    async with trio.open_nursery() as nursery:
        await sup.start(nursery, "steady", steady)
        await sup.start(nursery, "flaky", flaky.run)
        await trio.sleep(20)
        stop.set()
        flaky.stop.set()
    assert len(ticks) >= 19  # ticked every second throughout the other's crashes
    states = {s.name: s for s in sup.statistics()}
    assert states["steady"].restarts == 0 and states["flaky"].restarts == 5


async def test_an_actor_that_cannot_start_is_a_start_up_error(autojump_clock):
    async def broken(*, task_status=trio.TASK_STATUS_IGNORED):
        raise ValueError("bad wiring")

    with pytest.RaisesGroup(pytest.RaisesExc(ValueError, match="bad wiring")):
        async with trio.open_nursery() as nursery:
            await Supervisor().start(nursery, "broken", broken)


async def test_wait_finished_returns_when_the_actor_returns(autojump_clock):
    done = trio.Event()

    async def finite(*, task_status=trio.TASK_STATUS_IGNORED):
        task_status.started()
        await done.wait()

    sup = Supervisor()
    async with trio.open_nursery() as nursery:
        await sup.start(nursery, "finite", finite)
        nursery.start_soon(trio.sleep, 3)
        with trio.move_on_after(2) as scope:
            await sup.wait_finished(["finite"])
        assert scope.cancelled_caught
        done.set()
        await sup.wait_finished(["finite"])
