"""The adaptive scheduler (``VIBED_POLLING=adaptive``): each scope polled when its plan says, not all at once.

In: ``Poke``.  Out: ``FetchJob`` (one per due scope; a poke still makes a whole round).  Ends when the
poke channel ends or the job channel's readers are gone.

Each pass reads the database — the bucket, the release history, when each scope was last polled by
any daemon — and plans the day (``vibed/pipeline/planner.py``, rates from ``vibed/pipeline/learning.py``).
A scope is due ``interval`` after its last poll, where ``interval`` is the plan's for this hour, at
most the cron period (the floor), pulled in after a burst.  Everything it decides from is in
PostgreSQL, so a restarted daemon and a second daemon plan the same; the poll itself is claimed with
a gap (``fetch_state.claim_poll``), so two daemons never poll one scope within a minute.

Followed artists (``vibed/follow``) are scopes too — ``("jiosaavn", "artist:<id>")``, most-followed and
most active first — planned on the same bucket as the languages, each at least every
``ARTIST_FLOOR_S`` and more often as its releases outside the watched languages come.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import attrs
import trio

from vibed.config import Config
from vibed.follow import followed
from vibed.follow import history as follow_history
from vibed.health import BudgetPoll, PollingPlan, ScopePoll
from vibed.logs import get_logger
from vibed.pipeline import fetch_state, history, learning, planner
from vibed.pipeline.scheduler import ROUND_TIMEOUT, RoundProgress, Scheduler, new_round_id
from vibed.store import bucket
from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.vocab.clock import Clock, utc_iso
from vibed.vocab.messages import FetchJob, JobDone, Poke, ScopeKey, artist_of

log = get_logger("vibed.scheduler")
REPLAN_S = 300.0  # scheduler seconds between two reads of the database while nothing is due
EWMA = 0.1  # weight of the newest poll in the cost estimates
ARTIST_FLOOR_S = 6 * 3600.0  # a followed artist's page, at least this often (its watched-language releases
# come through the languages' polls within minutes; this catches the first one elsewhere)
ARTIST_PRIOR = 1 / (7 * 24.0)  # releases/hour outside the watched languages, before its page was polled
ARTIST_PAGES = 2  # of an artist's page per poll: its latest albums, never its whole back catalogue
MAX_ARTISTS = 200  # followed artists polled on their own page (most-followed, most active first)


@attrs.define(eq=False)
class ScopeTiming:
    interval_s: float  # the plan's, this hour
    rate: float  # learned releases per hour, this hour
    last_poll: dt.datetime | None = None  # by any daemon (scheduler time)
    last_new: int = 0  # new releases our last poll of it found
    attempted: dt.datetime | None = None  # our last attempt, claimed or not
    first: dt.datetime | None = None  # never polled: the next cron time, as in cron mode

    def next_poll(self, now: dt.datetime) -> dt.datetime:
        if self.last_poll is None:
            due = self.first or now
        else:
            due = self.last_poll + dt.timedelta(seconds=planner.after_poll(self.interval_s, self.last_new))
        if self.attempted is not None:  # claimed elsewhere or locked: not again within the gap
            due = max(due, self.attempted + dt.timedelta(seconds=planner.MIN_GAP_S))
        return due


@attrs.define(eq=False)
class AdaptiveScheduler(Scheduler):
    db: Database | None = None
    clock: Clock = attrs.field(factory=Clock)
    plans: dict[str, planner.Plan] = attrs.field(factory=dict)  # per bucket service
    timings: dict[ScopeKey, ScopeTiming] = attrs.field(factory=dict)
    pages_per_poll: float = 1.0
    burst_share: float = 0.0  # of polls, those a burst pulled in (spent above the plan)
    polls: int = 0
    artists: list[followed.FollowedArtist] = attrs.field(factory=list)  # polled on their own page

    def __attrs_post_init__(self) -> None:
        self.now, self.speed = self.clock.now, self.clock.speed

    async def run(self, pokes: trio.MemoryReceiveChannel[Poke], jobs: trio.MemorySendChannel[FetchJob],
                  *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with pokes, jobs:
            task_status.started()
            while True:
                try:
                    await self.replan()
                except (DatabaseUnavailable, asyncpg.PostgresError) as exc:
                    # the database is away: keep the last plan (or the cron floor) and try again next pass
                    log.warning("poll_plan_stale", detail=str(exc)[:200])
                    self._floor_only()
                now = self.now()
                due = min((t.next_poll(now) for t in self.timings.values()),
                          default=now + dt.timedelta(seconds=REPLAN_S))
                wait = min(REPLAN_S, max(0.0, (due - now).total_seconds()))
                poke: Poke | None = None
                with trio.move_on_after(self.clock.wall_seconds(wait)) as self._waiting:
                    try:
                        poke = await pokes.receive()
                    except trio.EndOfChannel:
                        return
                try:
                    if poke is not None:
                        poke = self.take_poke(poke)
                        await self.run_round(poke, poke.round_id or new_round_id(), jobs)
                        continue
                    now = self.now()
                    ready = [key for key, t in self.timings.items() if t.next_poll(now) <= now]
                    if ready:
                        await self.poll(ready, jobs)
                except trio.BrokenResourceError:
                    return

    def reconfigure(self, config: Config) -> None:
        self.config = config
        if self._waiting is not None:
            self._waiting.cancel()  # replan with the new languages and schedule now

    def _floor_only(self) -> None:
        if not self.timings:  # nothing planned yet: every scope at the next cron time
            now = self.now()
            self.timings = {key: ScopeTiming(self.floor_s(), 0.0, first=self.next_fire(now))
                            for key in self.plan(Poke(origin="plan"))}

    def floor_s(self) -> float:
        first = self.next_fire(self.now())
        return (self.next_fire(first) - first).total_seconds()

    async def replan(self) -> None:
        assert self.db is not None
        now = self.now()
        scopes = self.plan(Poke(origin="plan"))
        artists = await self.followed_artists()
        scopes += [("jiosaavn", artist.scope) for artist in artists]
        by_service: dict[str, list[ScopeKey]] = {}
        for source, scope in scopes:
            by_service.setdefault(self.sources[source].service, []).append((source, scope))
        polled = await fetch_state.last_polls(self.db)
        since = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=self.clock.wall_seconds(learning.WINDOW_S))
        floor = self.floor_s()
        cost = self.pages_per_poll / (1.0 - min(0.5, self.burst_share))
        timings: dict[ScopeKey, ScopeTiming] = {}
        for service, keys in by_service.items():
            state = await bucket.peek(self.db, service)
            if state is None:
                continue
            # the bucket refills over wall seconds; the plan counts scheduler seconds
            budget = planner.Budget(state.tokens, state.max_tokens, state.refill_rate,
                                    state.interval_s * self.clock.speed)
            rates: dict[str, list[float]] = {}
            for source in {s for s, _ in keys}:
                langs = [scope for s, scope in keys if s == source and artist_of(scope) is None]
                found = await history.batches(self.db, source, langs, since)
                for lang, values in learning.forecasts(found, langs, now, self.clock.to_trace, prior=None).items():
                    rates[f"{source}/{lang}"] = values
            floors: dict[str, float] = {}
            if any(k[0] == "jiosaavn" for k in keys):
                rates.update(await self._artist_rates(artists, since, now))
                floors = {f"jiosaavn/{a.scope}": max(floor, ARTIST_FLOOR_S) for a in artists}
            plan = planner.plan_day(budget, rates, floor, pages_per_poll=cost, floors=floors)
            if not plan.floor_met and self.plans.get(service, plan).floor_met:
                log.warning("poll_floor_thinned", service=service, spendable=round(plan.spendable),
                            detail="the bucket cannot pay for one poll per scope per VIBED_SCHEDULE tick")
            self.plans[service] = plan
            for key in keys:
                scope_plan = plan.scopes[f"{key[0]}/{key[1]}"]
                old = self.timings.get(key)
                last = polled.get(key)
                timings[key] = ScopeTiming(
                    scope_plan.interval_s, scope_plan.rate_per_hour,
                    None if last is None else self.clock.to_trace(last),
                    old.last_new if old else 0, old.attempted if old else None,
                    old.first if old and old.first else self.next_fire(now))
        self.timings = timings

    async def followed_artists(self) -> list[followed.FollowedArtist]:
        """The followed artists to poll, when JioSaavn is a source (and still may be called)."""
        source = self.sources.get("jiosaavn")
        if self.db is None or source is None or not source.available:
            self.artists = []
        else:
            self.artists = await followed.poll_list(self.db, limit=MAX_ARTISTS,
                                                    window_s=self.clock.wall_seconds(learning.WINDOW_S))
        return self.artists

    async def _artist_rates(self, artists: list[followed.FollowedArtist], since: dt.datetime,
                            now: dt.datetime) -> dict[str, list[float]]:
        """Each artist's forecast of releases outside the watched languages (the prior until it is polled)."""
        assert self.db is not None
        found = await follow_history.outside_batches(self.db, [a.upstream_id for a in artists],
                                                     list(self.config.languages), since)
        return {f"jiosaavn/{a.scope}": learning.forecast(
                    [(self.clock.to_trace(at).timestamp(), n) for at, n in found.get(a.upstream_id, [])],
                    now.timestamp(), ARTIST_PRIOR)
                for a in artists}

    async def poll(self, keys: list[ScopeKey], jobs: trio.MemorySendChannel[FetchJob]) -> None:
        """One job per due scope, each its own one-job round; wait for all of them."""
        now = self.now()
        slot = "poll:" + now.strftime("%Y-%m-%dT%H:%M")
        progresses: dict[str, tuple[ScopeKey, RoundProgress]] = {}
        results_in, results = trio.open_memory_channel[JobDone](max(1, len(keys)))  # each answers once
        async with results:
            for source, scope in keys:
                timing = self.timings[(source, scope)]
                timing.attempted = now
                gap = max(planner.MIN_GAP_S, 0.5 * planner.after_poll(timing.interval_s, timing.last_new))
                progress = RoundProgress(new_round_id(), "plan", remaining=1)
                log.debug("poll_due", source=source, language=scope, interval_s=round(timing.interval_s),
                          rate=round(timing.rate, 2))
                pages = self.config.page_cap if artist_of(scope) is None else ARTIST_PAGES
                await jobs.send(FetchJob(progress.id, slot, source, scope, pages, results_in,
                                         min_gap_s=self.clock.wall_seconds(gap)))
                progresses[progress.id] = ((source, scope), progress)
            with trio.move_on_after(ROUND_TIMEOUT):
                for _ in progresses:
                    done = await results.receive()
                    progresses[done.round_id][1].add(done)
        for key, progress in progresses.values():
            timing = self.timings[key]
            burst = timing.last_new >= planner.BURST_FROM
            if progress.requests:
                self.polls += 1
                self.pages_per_poll += EWMA * (progress.requests - self.pages_per_poll)
                self.burst_share += EWMA * (float(burst) - self.burst_share)
                if progress.first_seen >= planner.BURST_FROM:
                    log.info("poll_burst", source=key[0], language=key[1], new=progress.first_seen)
            # a first poll stores what upstream already had: a backfill, not a drop
            timing.last_new = progress.first_seen if timing.last_poll is not None else 0
            self.last_round = progress
            if self.on_round is not None:
                self.on_round(progress)

    def snapshot(self) -> PollingPlan:
        """What health and ``/metrics`` show: each scope's next poll, learned rate, the day's forecast."""
        now = self.now()
        scopes: dict[str, dict[str, ScopePoll]] = {}
        for (source, scope), t in sorted(self.timings.items()):
            nxt = t.next_poll(now)
            scopes.setdefault(source, {})[scope] = ScopePoll(
                next_poll=utc_iso(nxt, "auto"), next_poll_in_s=round(max(0.0, (nxt - now).total_seconds()), 1),
                interval_s=round(planner.after_poll(t.interval_s, t.last_new), 1),
                learned_rate_per_hour=round(t.rate, 3))
        budgets = {service: BudgetPoll(spendable_per_day=round(p.spendable, 1), forecast_per_day=round(p.forecast, 1),
                                       reserve=planner.RESERVE, paced=round(p.paced, 3), floor_met=p.floor_met,
                                       floor_s=p.floor_s)
                   for service, p in sorted(self.plans.items())}
        return PollingPlan("adaptive", scopes=scopes, budget=budgets, pages_per_poll=round(self.pages_per_poll, 3),
                           burst_share=round(self.burst_share, 3))


def cron_snapshot(scheduler: Scheduler) -> PollingPlan:
    nxt = scheduler.next_fire(scheduler.now())
    return PollingPlan("cron", next_round=utc_iso(nxt, "auto"))

