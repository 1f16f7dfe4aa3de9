"""The scheduler: cron ticks and pokes become rounds; a round is one FetchJob per (source, scope).

In: ``Poke`` (SIGUSR1, POST /api/new-releases/fetch).  Out: ``FetchJob``.  Ends when the poke
channel ends or the job channel's readers are gone.

Rounds never overlap: the next round starts only once every job of the current one is done.
Pokes that arrive during a round coalesce in the poke channel's single slot, so at most one
more round is queued; a cron time that passes during a round is not made up for.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping

import attrs
import trio
from croniter import croniter

from vibed.config import Config
from vibed.logs import get_logger
from vibed.vocab.clock import utc_iso
from vibed.vocab.messages import FetchJob, JobDone, Poke, ScopeKey, scope_label
from vibed.vocab.source import Source

log = get_logger("vibed.scheduler")
ROUND_TIMEOUT = 15 * 60  # a round whose jobs never finish must not stop the schedule forever


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def new_round_id() -> str:
    return uuid.uuid4().hex[:12]


@attrs.define(eq=False)
class RoundProgress:
    """One round as its scheduler sees it: the fetchers' ``JobDone`` results added up as they come.

    Only the scheduler that planned the round holds it; fetchers send results forward, they change
    nothing of it."""

    id: str
    origin: str
    remaining: int
    started: float = attrs.field(factory=trio.current_time)
    requests: int = 0
    first_seen: int = 0
    events: int = 0
    errors: int = 0

    def add(self, done: JobDone) -> None:
        self.remaining -= 1
        self.requests += done.requests
        self.first_seen += done.first_seen
        self.events += done.events
        self.errors += done.errors

    async def collect(self, results: trio.MemoryReceiveChannel[JobDone]) -> None:
        """Add results until every job of the round has answered."""
        while self.remaining > 0:
            self.add(await results.receive())


@attrs.define(eq=False)
class Scheduler:
    config: Config  # languages, schedule, page_cap; replaced on reload
    sources: Mapping[str, Source]
    now: Callable[[], dt.datetime] = utc_now
    speed: float = 1.0  # scheduler seconds per wall second (a trace clock, VIBED_TRACE_CLOCK); 1 = the wall
    rounds: int = 0
    last_round: RoundProgress | None = None
    on_round: Callable[[RoundProgress], None] | None = None
    take_poke: Callable[[Poke], Poke] = lambda poke: poke  # Control.take: widened, coalesced pokes
    _waiting: trio.CancelScope | None = None
    _rescheduled: bool = False

    def reconfigure(self, config: Config) -> None:
        """Take a reloaded configuration; a changed schedule applies to the wait in progress."""
        changed = config.schedule != self.config.schedule
        self.config = config
        if changed and self._waiting is not None:
            self._rescheduled = True
            self._waiting.cancel()

    def next_fire(self, after: dt.datetime) -> dt.datetime:
        nxt = croniter(self.config.schedule, after).get_next(dt.datetime)
        return nxt if nxt.tzinfo else nxt.replace(tzinfo=dt.UTC)

    async def run(self, pokes: trio.MemoryReceiveChannel[Poke], jobs: trio.MemorySendChannel[FetchJob],
                  *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with pokes, jobs:
            task_status.started()
            fire = self.next_fire(self.now())
            while True:
                wait = max(0.0, (fire - self.now()).total_seconds()) / self.speed
                poke: Poke | None = None
                with trio.move_on_after(wait) as self._waiting:
                    try:
                        poke = await pokes.receive()
                    except trio.EndOfChannel:
                        return
                if poke is None and self._rescheduled:  # reconfigure(): a new schedule, no round now
                    self._rescheduled = False
                    fire = self.next_fire(self.now())
                    continue
                cron = poke is None  # the cron time came
                if poke is None:
                    slot = utc_iso(fire, "seconds")
                    poke = Poke(origin="cron", round_id=new_round_id())
                else:
                    poke = self.take_poke(poke)
                    slot = poke.round_id or new_round_id()
                try:
                    await self.run_round(poke, slot, jobs)
                except trio.BrokenResourceError:
                    return
                now = self.now()
                if cron or now >= fire:  # a poke round that ended before the cron time keeps it
                    fire = self.next_fire(max(now, fire))

    def plan(self, poke: Poke) -> list[ScopeKey]:
        languages = [lang for lang in self.config.languages if poke.languages is None or lang in poke.languages]
        plan: list[ScopeKey] = []
        for name, source in self.sources.items():
            if poke.sources is not None and name not in poke.sources:
                continue
            if not source.available:
                log.debug("source_skipped", source=name, reason="unavailable")
                continue
            plan.extend((name, scope) for scope in source.scopes(languages))
        return plan

    async def run_round(self, poke: Poke, slot: str, jobs: trio.MemorySendChannel[FetchJob]) -> RoundProgress:
        round_id = poke.round_id or new_round_id()
        plan = self.plan(poke)
        progress = RoundProgress(round_id, poke.origin, remaining=len(plan))
        self.rounds += 1
        log.info("round_started", round_id=round_id, origin=poke.origin, jobs=len(plan))
        log.debug("round_planned", round_id=round_id, slot=slot, jobs=",".join(map(scope_label, plan)))
        # each job answers once, without waiting: room for all of them
        results_in, results = trio.open_memory_channel[JobDone](max(1, len(plan)))
        async with results:
            for source, scope in plan:
                await jobs.send(FetchJob(round_id, slot, source, scope, self.config.page_cap, results_in))
            with trio.move_on_after(ROUND_TIMEOUT) as timeout:
                await progress.collect(results)
        if timeout.cancelled_caught:
            log.error("round_timed_out", round_id=round_id, unfinished=progress.remaining)
        log.info("fetch_completed", round_id=round_id, origin=poke.origin, requests=progress.requests,
                 new=progress.events, first_seen=progress.first_seen, errors=progress.errors,
                 duration_ms=round((trio.current_time() - progress.started) * 1000))
        self.last_round = progress
        if self.on_round is not None:
            self.on_round(progress)
        return progress
