"""``open_pipeline``: the fetch pipeline of one process, as a handle the composition root holds.

    Control ─Poke─► scheduler ─FetchJob─► fetcher×N ─WriteRequest─► writer ─► stored (the delivery's inbox)
                    (pokes: 1)            (jobs: 0)   (pages: N)

Each actor gets *clones* of the channel ends it uses, so a crashed actor closing its ends does
not close the channel: the restarted actor gets fresh clones.  ``drain`` closes the originals
from the front, so each actor sees its input end and finishes in turn.  In a serve process the
handle exists (its health reads the deployment's buckets and last fetch from the database) but
runs no actor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import attrs
import trio

from vibed.config import Config
from vibed.health import BucketHealth, PipelineHealth, PollingPlan, RoundSummary, SourceHealth
from vibed.metrics import MeteredSource
from vibed.pipeline import fetch_state
from vibed.pipeline.adaptive import AdaptiveScheduler, cron_snapshot
from vibed.pipeline.control import Control
from vibed.pipeline.fetcher import Fetcher
from vibed.pipeline.health import ScopeHealth
from vibed.pipeline.scheduler import RoundProgress, Scheduler
from vibed.pipeline.writer import Writer
from vibed.store import bucket
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.vocab.clock import Clock
from vibed.vocab.messages import FetchJob, Poke, StoredEvent, WriteRequest


@attrs.define(eq=False)
class PipelineService:
    config: Config
    db: Database
    sources: Mapping[str, MeteredSource]
    scopes: ScopeHealth  # what the fetchers know about each (source, scope)
    control: Control
    scheduler: Scheduler
    writer: Writer
    _nursery: trio.Nursery
    _sup: Supervisor
    _pokes: trio.MemorySendChannel[Poke]
    _jobs: tuple[trio.MemorySendChannel[FetchJob], trio.MemoryReceiveChannel[FetchJob]]
    _pages: tuple[trio.MemorySendChannel[WriteRequest], trio.MemoryReceiveChannel[WriteRequest]]
    fetchers: dict[str, Fetcher] = attrs.field(factory=dict)

    async def _start_fetcher(self, i: int) -> None:
        fetcher = Fetcher(f"fetcher-{i}", self.db, self.sources, self.scopes)
        self.fetchers[fetcher.name] = fetcher
        jobs, pages = self._jobs[1], self._pages[0]
        await self._sup.start(self._nursery, fetcher.name, lambda task_status: fetcher.run(
            jobs.clone(), pages.clone(), task_status=task_status))

    def polling(self) -> PollingPlan:
        """The polling plan, as health and the metrics show it."""
        if not self.config.fetches:
            return PollingPlan(self.config.polling, fetching=False)  # the fetch process plans the polls
        if isinstance(self.scheduler, AdaptiveScheduler):
            return self.scheduler.snapshot()
        return cron_snapshot(self.scheduler)

    async def health(self) -> PipelineHealth:
        buckets = {b.service: BucketHealth(round(b.tokens, 2), b.max_tokens,
                                           None if b.next_token_s is None else round(b.next_token_s, 1))
                   for b in await bucket.all_buckets(self.db)}
        last = self.scheduler.last_round
        scopes = self.scopes.snapshot()
        return PipelineHealth(
            sources={name: SourceHealth(s.available, scopes.get(name, {})) for name, s in self.sources.items()},
            buckets=buckets, rounds=self.scheduler.rounds,
            last_round=None if last is None else RoundSummary(last.id, last.origin, last.requests, last.events),
            polling=self.polling(), last_fetch_age_s=await fetch_state.last_success_age(self.db),
            stale_after_s=self.config.stale_after)

    async def reconfigure(self, config: Config) -> None:
        """Languages, schedule, page cap, the new window and the fetcher count, live."""
        self.config = config
        self.scheduler.reconfigure(config)
        self.writer.window_days = config.new_window_days
        for source in self.sources.values():
            source.reset()  # a Spotify app re-enabled upstream is tried again
        have = len(self.fetchers)
        for i in range(have + 1, config.fetcher_count + 1):
            await self._start_fetcher(i)
        for i in range(have, config.fetcher_count, -1):
            # a fetcher in the middle of a job is cancelled; its round ends and the job runs next round
            self._sup.stop(f"fetcher-{i}")
            self.fetchers.pop(f"fetcher-{i}", None)

    async def drain(self) -> None:
        """Close the originals front to back; each actor finishes when its input ends."""
        for channel, names in ((self._pokes, ["scheduler"]), (self._jobs[0], list(self.fetchers)),
                               (self._pages[0], ["writer"])):
            await channel.aclose()
            await self._sup.wait_finished(names)


async def open_pipeline(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database,
                        sources: Mapping[str, MeteredSource], stored: trio.MemorySendChannel[tuple[StoredEvent, ...]],
                        on_round: Callable[[RoundProgress], None]) -> PipelineService:
    """The channels (sized on purpose, see the module docstring) and, when this process fetches, its actors."""
    pokes_s, pokes_r = trio.open_memory_channel[Poke](1)  # pokes coalesce in the single slot
    jobs = trio.open_memory_channel[FetchJob](0)  # a job waits for a free fetcher
    pages = trio.open_memory_channel[WriteRequest](config.fetchers)  # one in flight per fetcher
    control = Control(pokes_s)
    scheduler: Scheduler
    clock = Clock.parse(config.trace_clock) if config.trace_clock else Clock()
    if config.polling == "adaptive":
        scheduler = AdaptiveScheduler(config, sources, take_poke=control.take, on_round=on_round, db=db, clock=clock)
    elif clock.real:
        scheduler = Scheduler(config, sources, take_poke=control.take, on_round=on_round)
    else:
        scheduler = Scheduler(config, sources, take_poke=control.take, on_round=on_round,
                              now=clock.now, speed=clock.speed)
    writer = Writer(db, window_days=config.new_window_days)
    service = PipelineService(config, db, sources, ScopeHealth(), control, scheduler, writer, nursery, sup,
                              pokes_s, jobs, pages)
    if config.fetches:
        await sup.start(nursery, "writer", lambda task_status: writer.run(
            pages[1].clone(), stored.clone(), task_status=task_status))
    for i in range(1, config.fetcher_count + 1):
        await service._start_fetcher(i)
    if config.fetches:
        await sup.start(nursery, "scheduler", lambda task_status: scheduler.run(
            pokes_r.clone(), jobs[0].clone(), task_status=task_status))
    return service
