"""Stream watch lookups are single-flight: a crowd connecting with one watch at once costs one query, a
later connection reads again (nothing is remembered), and a lookup whose leader fails is asked again."""

from __future__ import annotations

import trio

from vibed.delivery.watch_lookups import WatchLookups
from vibed.vocab.release_filter import ReleaseFilter

MINE = ReleaseFilter(artists=frozenset({7}))


class Store:
    def __init__(self) -> None:
        self.asked = 0
        self.fail_next = False
        self.value: ReleaseFilter | None = MINE

    async def resolve(self, watch_id: str) -> ReleaseFilter | None:
        self.asked += 1
        await trio.sleep(0.05)  # a query's time
        if self.fail_next:
            self.fail_next = False
            raise ConnectionError("the database went away")
        return self.value if watch_id == "w" else None


async def test_a_crowd_shares_one_query_and_a_later_one_reads_again(autojump_clock):
    store = Store()
    lookups = WatchLookups(store.resolve)
    got: list[ReleaseFilter | None] = []

    async def connect(watch_id: str) -> None:
        got.append(await lookups(watch_id))

    async with trio.open_nursery() as nursery:
        for _ in range(100):
            nursery.start_soon(connect, "w")
        nursery.start_soon(connect, "other")
    assert store.asked == 2 and got.count(MINE) == 100 and got.count(None) == 1
    assert (lookups.queries, lookups.joined) == (2, 99)
    store.value = ReleaseFilter(artists=frozenset({8}))  # the watch edited: the next connection sees it
    assert await lookups("w") == store.value and store.asked == 3


async def test_when_the_lookup_others_wait_on_fails_one_of_them_asks_again(autojump_clock):
    store = Store()
    store.fail_next = True
    lookups = WatchLookups(store.resolve)
    outcomes: list[object] = []

    async def connect() -> None:
        try:
            outcomes.append(await lookups("w"))
        except ConnectionError as exc:
            outcomes.append(exc)

    async with trio.open_nursery() as nursery:
        for _ in range(5):
            nursery.start_soon(connect)
    assert sum(isinstance(o, ConnectionError) for o in outcomes) == 1 and outcomes.count(MINE) == 4
    assert store.asked == 2


async def test_a_cancelled_leader_does_not_strand_the_others(autojump_clock):
    store = Store()
    lookups = WatchLookups(store.resolve)
    got: list[object] = []

    async def first(task_status: trio.TaskStatus[trio.CancelScope] = trio.TASK_STATUS_IGNORED) -> None:
        with trio.CancelScope() as scope:
            task_status.started(scope)
            await lookups("w")

    async def second() -> None:
        got.append(await lookups("w"))

    async with trio.open_nursery() as nursery:
        scope = await nursery.start(first)
        nursery.start_soon(second)
        await trio.sleep(0.01)
        scope.cancel()  # the leader's client left mid-query
    assert got == [MINE] and store.asked == 2  # the one left waiting asked again
