"""The notify sender: sends each target's due releases as one message, with bounded effort.

In: wake-ups (``None``) from the wiring whenever events are delivered — their outbox rows are already
committed.  Out: nothing; outcomes are recorded in the outbox.  Ends when its wake-up channel ends.

Every ``poll`` seconds (or on a wake-up) it asks which targets have pending rows that nothing holds,
asks the schedule (vibed/targets/schedule.py) whether each is due now, and starts one worker per due
target that has none yet.  A worker claims the rows, composes one message (one release, a folded burst,
a digest), vets the target's host again (vibed/targets/reach.py: the SSRF rules, and the address
pinned for Apprise), sends it through Apprise in a worker thread (at most ``workers`` at once over all targets)
and records the outcome; a failure backs every row of the message off together, and dead-letters them
when the schedule is spent.  A database outage is logged and waited out, never a crash (the loop is the
outboxes' one: vibed/outbox/loop.py).
"""

from __future__ import annotations

import functools

import attrs
import trio

from vibed.config import Config
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.outbox.backoff import next_wait
from vibed.outbox.loop import LoopNames, OutboxLoop
from vibed.outbox.reach import RefusedTarget, TargetRules
from vibed.store.postgres import Database
from vibed.targets import compose, outbox, reach
from vibed.targets.schedule import Due, Flood, QuietHours, Schedule, Why, Window, due, parse_tz
from vibed.targets.send import Sent, install_log_scrubber, scrubbed, send
from vibed.targets.urls import BadTargetUrl, parse_target_url

log = get_logger("vibed.targets")
NAMES = LoopNames(pruned="notify_log_pruned", pruned_count="releases", owner="target")
LABELS = {"hourly": "Hourly digest", "daily": "Daily digest"}


@attrs.frozen
class SenderSettings:
    rules: TargetRules = TargetRules()  # where a self-hosted service's host may resolve (vetted before each send)
    schedule: tuple[float, ...] = (10.0, 60.0, 300.0, 1800.0, 7200.0)  # waits between attempts, then dead
    workers: int = 8  # Apprise sends in flight (threads)
    poll: float = 1.0
    periods: dict[str, float] = attrs.field(factory=lambda: {"hourly": 3600.0, "daily": 86400.0})
    flood: Flood = Flood()
    lease: float = 30.0  # longer than a send takes (Apprise's timeouts: 4 s to connect, 4 s to read, per request)
    database_calls: int = 4  # the sender's queries at once, whatever ``workers`` is (the pool is shared)
    pause_after: int = 15
    keep_delivered: float = 7 * 86400.0
    prune_every: float = 3600.0

    @classmethod
    def of(cls, config: Config) -> SenderSettings:
        return cls(rules=TargetRules.of(config), schedule=tuple(config.notify_retry_schedule), workers=config.notify_workers,
                   poll=config.notify_poll, periods={"hourly": config.notify_hourly, "daily": config.notify_daily},
                   flood=Flood(config.notify_flood_limit, config.notify_flood_window),
                   pause_after=config.notify_pause_after, keep_delivered=config.webhook_keep_delivered)


@attrs.define(eq=False)
class TargetSender:
    db: Database
    settings: SenderSettings
    messages: int = 0  # sent by this instance
    releases: int = 0  # … carrying this many releases
    failures: int = 0
    dead_lettered: int = 0
    _outage: Outage = attrs.field(factory=lambda: Outage(log, "notify_outbox_unavailable"))
    _secrets: dict[str, tuple[str, ...]] = attrs.field(factory=dict)
    _database: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(4))
    _slots: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(8))
    _threads: trio.CapacityLimiter = attrs.field(factory=lambda: trio.CapacityLimiter(8))

    async def run(self, inbox: trio.MemoryReceiveChannel[None], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        install_log_scrubber()
        reach.install_pinning()
        # one slot per message, from its claim to its record, so a claimed message never waits for a thread
        # while its lease runs; and at most ``database_calls`` of the sender's queries at once: a thousand
        # targets due together must not queue a thousand claims on the shared pool, where they would pass
        # their deadline after leasing their rows.  The threads' own limiter is never contended: only a
        # slot holder starts one.
        self._slots = trio.CapacityLimiter(self.settings.workers)
        self._threads = trio.CapacityLimiter(self.settings.workers)
        self._database = trio.CapacityLimiter(self.settings.database_calls)
        loop = OutboxLoop(self, log, self._outage, NAMES, poll=self.settings.poll,
                          prune_every=self.settings.prune_every)
        await loop.run(inbox, task_status=task_status)  # a message cut short is sent again when its lease ends

    def plan(self, target: outbox.DueTarget) -> Due:
        schedule = Schedule(parse_tz(target.tz), self.settings.periods.get(target.digest),
                            None if target.quiet is None else _quiet(target.quiet))
        return due(schedule, target.oldest, target.now, Window(target.window_start, target.window_sends),
                   self.settings.flood)

    async def sweep(self, loop: OutboxLoop) -> None:
        """One worker per target that the schedule says is due now and that has none yet."""
        for target in await outbox.due_targets(self.db):
            if loop.has_line(target.id):
                continue
            when = self.plan(target)
            if when.at <= target.now:
                loop.start_line(target.id, functools.partial(self._send_one, target, when))

    async def prune(self) -> int:
        return await outbox.prune(self.db, self.settings.keep_delivered)

    async def _send_one(self, target: outbox.DueTarget, when: Due) -> None:
        async with self._slots:
            async with self._database:
                claimed = await outbox.claim(self.db, target.id, when.cutoff, self.settings.lease)
            if claimed is None:
                return
            result = await self._attempt(claimed, self.compose(target, when, claimed))
            async with self._database:
                await self._record(claimed, result, when)

    async def _attempt(self, claimed: outbox.Claimed, message: compose.Message) -> Sent:
        """Vet the host again (it may resolve elsewhere now), then send to the vetted address only."""
        try:
            pin = await reach.vet(claimed.url, self.settings.rules)
        except RefusedTarget as exc:  # never Apprise's: a failed attempt, its reason without the URL
            return Sent(False, scrubbed(f"refused: {exc}")[:300])
        return await send(claimed.url, self._secrets_of(claimed.url), message, self._threads, pin=pin)

    def compose(self, target: outbox.DueTarget, when: Due, claimed: outbox.Claimed) -> compose.Message:
        if when.why is Why.DIGEST:
            return compose.digest(claimed.payloads, LABELS.get(target.digest, "Digest"))
        if when.why is Why.QUIET and len(claimed.payloads) > 1:
            return compose.digest(claimed.payloads, "While quiet hours lasted")
        return compose.folded(claimed.payloads)

    def _secrets_of(self, url: str) -> tuple[str, ...]:
        if url not in self._secrets:
            try:
                self._secrets[url] = parse_target_url(url).secrets
            except BadTargetUrl:
                self._secrets[url] = ()
        return self._secrets[url]

    async def _record(self, claimed: outbox.Claimed, result: Sent, when: Due) -> None:
        if result.ok:
            await outbox.delivered(self.db, claimed, self.settings.flood.window)
            self.messages += 1
            self.releases += len(claimed.ids)
            log.debug("notify_sent", target=claimed.target_id, message=claimed.message_id,
                      releases=len(claimed.ids), why=when.why.value, attempt=claimed.attempt)
            return
        self.failures += 1
        wait = next_wait(self.settings.schedule, claimed.attempt, None)  # None: the schedule is spent
        self.dead_lettered += len(claimed.ids) if wait is None else 0
        paused = await outbox.failed(self.db, claimed, result.error, wait, self.settings.pause_after)
        log.warning("notify_failed" if wait is not None else "notify_dead_lettered", target=claimed.target_id,
                    url=claimed.shown_url, message=claimed.message_id, releases=len(claimed.ids),
                    attempt=claimed.attempt, error=result.error[:200],
                    retry_in=None if wait is None else round(wait, 1))
        if paused:
            log.warning("notify_target_paused", target=claimed.target_id, url=claimed.shown_url,
                        detail=f"{self.settings.pause_after} failed messages in a row; POST "
                               "/api/notify/targets/{id}/redeliver resumes it, DELETE ends it")


def _quiet(pair: tuple[int, int]) -> QuietHours:
    return QuietHours(*pair)
