"""The outboxes' one sender loop (vibed/outbox/loop.py), driven by a kind that records what it is asked.

The kinds' own behaviour over a real database and real receivers is pinned by the webhook, push and
notify tests; these pin the loop's contract on a fake clock: one worker per owner's line, a wake-up
during a sweep is not lost, an outage is told and waited out, pruning keeps its cadence, and the end
of the wake-up channel ends the loop and every attempt in flight.
"""

from __future__ import annotations

import attrs
import pytest
import trio

from tests.pipeline_support import captured_logs, events_named
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.outbox.loop import LoopNames, OutboxLoop, lease_after
from vibed.store.failures import DatabaseUnavailable

log = get_logger("vibed.test_outbox")
NAMES = LoopNames(pruned="test_log_pruned", pruned_count="rows", owner="target")


@attrs.define(eq=False)
class Recording:
    """A kind whose outbox is a list of owners due now; each owner's worker takes ``work_s`` seconds."""

    due: list[int] = attrs.field(factory=list)
    work_s: float = 10.0
    down: bool = False  # the database does not answer
    sweeps: list[float] = attrs.field(factory=list)
    pruned: list[float] = attrs.field(factory=list)
    started: list[int] = attrs.field(factory=list)
    running: dict[int, int] = attrs.field(factory=dict)
    most_at_once: int = 0
    finished: int = 0
    hold: trio.Event | None = None  # a sweep waits for it (a slow query)

    async def sweep(self, loop: OutboxLoop) -> None:
        self.sweeps.append(trio.current_time())
        if self.hold is not None:
            await self.hold.wait()
        if self.down:
            raise DatabaseUnavailable("the database does not answer")
        for owner in self.due:
            loop.start_line(owner, lambda owner=owner: self._work(owner))

    async def _work(self, owner: int) -> None:
        self.started.append(owner)
        self.running[owner] = self.running.get(owner, 0) + 1
        self.most_at_once = max(self.most_at_once, self.running[owner])
        try:
            await trio.sleep(self.work_s)
            self.finished += 1
        finally:
            self.running[owner] -= 1

    async def prune(self) -> int:
        self.pruned.append(trio.current_time())
        return 3


def loop_of(kind: Recording, **kw: float) -> OutboxLoop:
    return OutboxLoop(kind, log, Outage(log, "test_outbox_unavailable"), NAMES, **kw)


async def test_an_owner_has_one_worker_at_a_time_however_often_it_is_found_due(autojump_clock):
    kind = Recording(due=[1, 2], work_s=10.0)
    loop = loop_of(kind, poll=1.0)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)
    async with trio.open_nursery() as nursery:
        await nursery.start(loop.run, wakes_r)
        await trio.sleep(25.0)  # 25 sweeps find both owners due; their workers take 10 s each
        assert loop.has_line(1) and loop.has_line(2)
        await wakes_s.aclose()
    assert kind.most_at_once == 1
    assert kind.started.count(1) == 3 and kind.started.count(2) == 3  # at 0, 10 and 20 s: one after the other
    assert len(kind.sweeps) >= 25


async def test_a_wake_up_during_a_sweep_makes_another_sweep_at_once(autojump_clock):
    kind = Recording()
    loop = loop_of(kind, poll=60.0)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)
    async with trio.open_nursery() as nursery:
        await nursery.start(loop.run, wakes_r)
        await trio.sleep(1.0)
        kind.hold = trio.Event()
        wakes_s.send_nowait(None)
        await trio.sleep(1.0)  # the second sweep is under way, held by a slow query
        wakes_s.send_nowait(None)  # a release is stored meanwhile
        kind.hold.set()
        await trio.sleep(1.0)
        assert kind.sweeps == [0.0, 1.0, 2.0]  # not at 61 s: the wake-up was not lost
        await wakes_s.aclose()


async def test_an_outage_is_told_once_a_minute_waited_out_and_its_end_told(autojump_clock):
    kind = Recording(down=True)
    loop = loop_of(kind, poll=1.0)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)
    with captured_logs() as logs:
        async with trio.open_nursery() as nursery:
            await nursery.start(loop.run, wakes_r)
            await trio.sleep(90.5)
            kind.down = False
            await trio.sleep(2.0)
            await wakes_s.aclose()
    assert [w["failures"] for w in events_named(logs, "test_outbox_unavailable")] == [1, 61]
    assert len(events_named(logs, "outage_recovered", outage="test_outbox_unavailable")) == 1
    assert kind.pruned == [91.0]  # the first prune waited for the database, then went


async def test_delivered_rows_are_pruned_at_start_then_every_prune_every(autojump_clock):
    kind = Recording()
    loop = loop_of(kind, poll=1.0, prune_every=3600.0)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)
    with captured_logs() as logs:
        async with trio.open_nursery() as nursery:
            await nursery.start(loop.run, wakes_r)
            await trio.sleep(2 * 3600 + 10)
            await wakes_s.aclose()
    assert kind.pruned == [0.0, 3600.0, 7200.0]
    assert [e["rows"] for e in events_named(logs, "test_log_pruned")] == [3, 3, 3]


async def test_the_end_of_its_wake_ups_ends_it_and_cancels_the_attempts_in_flight(autojump_clock):
    kind = Recording(due=[7], work_s=1e6)
    loop = loop_of(kind)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)
    with trio.fail_after(10):
        async with trio.open_nursery() as nursery:
            await nursery.start(loop.run, wakes_r)
            await trio.sleep(1.0)
            assert kind.running == {7: 1}
            await wakes_s.aclose()
    assert kind.running == {7: 0} and kind.finished == 0  # cut short: its lease runs out, it is sent again


@pytest.mark.parametrize("timeout", [0.5, 10.0, 30.0])
def test_a_lease_outlasts_the_attempt_it_covers(timeout):
    assert lease_after(timeout) > timeout
