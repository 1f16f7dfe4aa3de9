"""What a reconnecting client is owed: the events after its Last-Event-ID, or an explicit reset.

Called *after* the client is registered with the hub (paused), so every event is either in the
replay or arrives live; the caller then drops live ids at or below ``floor``.

Three ways to answer, cheapest first:
- **memory**: ``last_id`` is held by the ring of recent events (``ring.py``).  Planned with no
  await, right after the client's registration, so nothing can be published in between: the
  floor is the newest published id and every later event arrives live.
- **database**: ``last_id`` is older than the ring.  Identical questions (same filter, same id)
  share one query (a *flight*), and at most ``concurrency`` flights query at once; the others
  wait their turn.  Waiting is not failing: a crowd is served in turn, not ended.  A flight runs
  in the replayer's own nursery, so a client that leaves never cancels its neighbours' answer.
  Writers commit in id order, so an event committed after the query has an id above the floor.
- **reset**: the gap cannot be covered (too many events, too many bytes, an unknown or future
  id); the client is told so and resumes at the newest id.
"""

from __future__ import annotations

from typing import Literal

import attrs
import trio

from vibed.delivery.frames import Frame, event_frame
from vibed.delivery.ring import RecentEvents, Window
from vibed.logs import get_logger
from vibed.store import events as store_events
from vibed.store.postgres import Database
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import ReleaseFilter

log = get_logger("vibed.delivery")
REPLAY_BYTES = 1 << 20  # a replay larger than this is a reset instead: a reconnect never costs a flood
QUERY_TIMEOUT_S = 10.0  # one replay query; past it the database is treated as down
CONCURRENCY = 4  # database replays at once: the pool also serves the writer and the API

Origin = Literal["live", "memory", "database", "reset"]


class ReplayUnavailable(ConnectionError):
    """The database could not answer a replay: the stream ends and the client comes back later."""


@attrs.frozen
class Replay:
    events: tuple[StoredEvent, ...]
    floor: int  # live frames with an id at or below this were replayed (or reset past)
    reset: str | None = None  # why replay cannot cover the gap; the client resumes at ``floor``
    frames: tuple[Frame, ...] = ()  # the events' SSE frames, encoded once for every client
    origin: Origin = "live"


@attrs.frozen
class ReplayStatistics:
    from_memory: int
    database_queries: int  # flights that reached the database
    coalesced: int  # clients answered by another client's flight
    waiting: int  # clients whose flight is queued or running now


@attrs.define(eq=False)
class _Flight:
    done: trio.Event = attrs.field(factory=trio.Event)
    replay: Replay | None = None
    error: str | None = None


@attrs.define(eq=False)
class Replayer:
    db: Database
    ring: RecentEvents
    cap: int = 1000
    max_bytes: int = REPLAY_BYTES
    concurrency: int = CONCURRENCY
    from_memory: int = 0
    database_queries: int = 0
    coalesced: int = 0
    waiting: int = 0
    _flights: dict[tuple[ReleaseFilter, int], _Flight] = attrs.field(factory=dict)
    _memo: dict[tuple[ReleaseFilter, int | None], Replay] = attrs.field(factory=dict)
    _memo_newest: int = -1
    _limiter: trio.CapacityLimiter = attrs.field(init=False)
    _nursery: trio.Nursery | None = None

    def __attrs_post_init__(self) -> None:
        self._limiter = trio.CapacityLimiter(self.concurrency)

    def statistics(self) -> ReplayStatistics:
        return ReplayStatistics(self.from_memory, self.database_queries, self.coalesced, self.waiting)

    async def serve(self, *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Runs the database flights until cancelled."""
        async with trio.open_nursery() as nursery:
            self._nursery = nursery
            task_status.started()
            await trio.sleep_forever()

    def plan_nowait(self, stream_filter: ReleaseFilter, last_id: int | None) -> Replay | None:
        """The replay when memory can give it (live-only included), else None: ask ``plan``.
        Between two events a crowd asks the same questions: the same ``Replay`` object answers."""
        ring = self.ring
        if self._memo_newest != ring.newest:
            self._memo.clear()
            self._memo_newest = ring.newest
        key = (stream_filter, last_id)
        replay = self._memo.get(key)
        if replay is None:
            replay = self._from_memory(stream_filter, last_id)
            if replay is None:
                return None
            if len(self._memo) < 4096:
                self._memo[key] = replay
        if replay.origin == "memory":
            self.from_memory += 1
        return replay

    def _from_memory(self, stream_filter: ReleaseFilter, last_id: int | None) -> Replay | None:
        ring = self.ring
        if last_id is None:
            return Replay((), ring.newest)
        window = ring.since(stream_filter, last_id)
        if window is None:
            if ring.covers(last_id) and last_id != ring.floor:  # inside the window, yet never an event
                return self._reset(ring.newest, f"event id {last_id} is unknown")
            return None
        return self._capped(window, last_id, ring.newest, "memory")

    async def plan(self, stream_filter: ReleaseFilter, last_id: int | None) -> Replay:
        """From memory, or from one shared database query taken in turn; ``ReplayUnavailable``
        when the database cannot answer."""
        replay = self.plan_nowait(stream_filter, last_id)
        if replay is not None:
            return replay
        assert last_id is not None  # live-only is always answered from memory
        key = (stream_filter, last_id)
        flight = self._flights.get(key)
        if flight is None or self._nursery is None:
            flight = self._flights[key] = _Flight()
            if self._nursery is not None:
                self._nursery.start_soon(self._fly, key, flight)
            else:  # not serving (a test's bare replayer): fly in the asking task
                await self._fly(key, flight)
        else:
            self.coalesced += 1
        self.waiting += 1
        try:
            await flight.done.wait()
        finally:
            self.waiting -= 1
        if flight.replay is None:
            raise ReplayUnavailable(flight.error or "the replay failed")
        return flight.replay

    async def _fly(self, key: tuple[ReleaseFilter, int], flight: _Flight) -> None:
        try:
            async with self._limiter:
                self.database_queries += 1
                with trio.fail_after(QUERY_TIMEOUT_S):
                    flight.replay = await self._query(*key)
        except (OSError, trio.TooSlowError) as exc:  # DatabaseUnavailable is an OSError
            flight.error = f"the database did not answer the replay: {exc or 'timed out'}"
        except Exception as exc:  # a bad row must end these streams, not the replayer
            log.exception("replay_failed", error=str(exc)[:200])
            flight.error = "the replay failed"
        finally:
            if self._flights.get(key) is flight:
                del self._flights[key]
            flight.done.set()

    async def _query(self, stream_filter: ReleaseFilter, last_id: int) -> Replay:
        db = self.db
        newest = await db.run(store_events.max_event_id, db.pool)
        if last_id > newest:
            return self._reset(newest, f"event id {last_id} is in the future: the newest event is {newest}")
        if last_id and not await db.run(store_events.event_exists, db.pool, last_id):
            return self._reset(newest, f"event id {last_id} is unknown")
        events = await db.run(store_events.matching_after, db.pool, last_id, stream_filter, self.cap + 1)
        frames = tuple(event_frame(e) for e in events)
        window = Window(events, frames, sum(len(f.body) for f in frames))
        return self._capped(window, last_id, events[-1].id if events else last_id, "database", newest)

    def _capped(self, window: Window, last_id: int, floor: int, origin: Origin, newest: int = 0) -> Replay:
        if len(window.events) > self.cap:
            return self._reset(newest or floor, f"more than {self.cap} events since {last_id}: "
                                                "replay does not reach back that far")
        if window.size > self.max_bytes:
            return self._reset(newest or floor, f"the events since {last_id} are more than "
                                                f"{self.max_bytes >> 20} MiB: refetch the list")
        return Replay(window.events, floor, None, window.frames, origin)

    @staticmethod
    def _reset(newest: int, reason: str) -> Replay:
        return Replay((), newest, reason, (), "reset")


async def plan_replay(db: Database, stream_filter: ReleaseFilter, last_id: int | None, cap: int) -> Replay:
    """One replay straight from the database, no ring (the WebSocket path until it shares the ring)."""
    return await Replayer(db, RecentEvents(max_events=0), cap).plan(stream_filter, last_id)
