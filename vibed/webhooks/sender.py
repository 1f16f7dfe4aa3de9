"""The webhook sender: drains the outbox to every target, in order, with bounded effort.

In: wake-ups (``None``) from the wiring whenever events are delivered — the outbox rows of
those events are already committed.  Out: nothing; outcomes are recorded in the outbox.
Ends when its wake-up channel ends.  The loop is the outboxes' one (vibed/outbox/loop.py).

Once an hour it forgets delivered rows older than ``VIBED_WEBHOOK_KEEP_DELIVERED``.
Every ``poll`` seconds (or on a wake-up) it asks which targets have a due head of line and
starts one worker per target that has none yet.  A worker claims the head, sends it, records
the outcome and goes on to the next, at most ``rate`` per second; it stops at the first
failure (the head is then backed off, holding the rest of its line, so order holds) or when
the line is empty.  A target that answers 410 Gone is paused at once (it asks to be
unsubscribed; nothing is dropped, and a redeliver resumes it).  At most ``concurrency``
attempts are in flight over all targets.  A database outage is logged and waited out, never a crash: a claimed row's lease runs out and
it is sent again.
"""

from __future__ import annotations

import functools

import attrs
import httpcore
import trio

from vibed.config import Config
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.outbox.backoff import next_wait
from vibed.outbox.loop import LoopNames, OutboxLoop, lease_after
from vibed.outbox.reach import TargetRules
from vibed.store.postgres import Database
from vibed.vocab.messages import WebhookDelivery
from vibed.webhooks import outbox as outbox
from vibed.webhooks.send import GONE, Attempt, attempt, message_id, open_sender_pool

log = get_logger("vibed.webhooks")
NAMES = LoopNames(pruned="webhook_log_pruned", pruned_count="deliveries", owner="webhook")


@attrs.frozen
class SenderSettings:
    rules: TargetRules
    schedule: tuple[float, ...]
    concurrency: int = 16
    rate: float = 20.0  # deliveries per second per target
    timeout: float = 10.0
    pause_after: int = 15
    keep_delivered: float = 7 * 86400.0  # seconds a delivered row stays in the log
    poll: float = 1.0
    prune_every: float = 3600.0

    @property
    def lease(self) -> float:
        return lease_after(self.timeout)

    @classmethod
    def of(cls, config: Config) -> SenderSettings:
        return cls(rules=TargetRules.of(config), schedule=tuple(config.webhook_retry_schedule),
                   concurrency=config.webhook_concurrency, rate=config.webhook_rate,
                   timeout=config.webhook_timeout, pause_after=config.webhook_pause_after,
                   keep_delivered=config.webhook_keep_delivered, poll=config.webhook_poll)


@attrs.define(eq=False)
class WebhookSender:
    db: Database
    settings: SenderSettings
    delivered: int = 0
    failures: int = 0
    dead_lettered: int = 0
    # the outbox out of reach: one line a minute however many loops and targets find it so, one at the end
    _outage: Outage = attrs.field(factory=lambda: Outage(log, "webhook_outbox_unavailable"))
    _limiter: trio.CapacityLimiter | None = None
    _pool: httpcore.AsyncConnectionPool | None = None

    async def run(self, inbox: trio.MemoryReceiveChannel[None], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._limiter = trio.CapacityLimiter(self.settings.concurrency)
        loop = OutboxLoop(self, log, self._outage, NAMES, poll=self.settings.poll,
                          prune_every=self.settings.prune_every)
        async with open_sender_pool(self.settings.rules, self.settings.concurrency) as self._pool:
            await loop.run(inbox, task_status=task_status)

    async def sweep(self, loop: OutboxLoop) -> None:
        """One worker per target whose head of line is due and that has none yet."""
        for webhook_id in await outbox.due_targets(self.db):
            loop.start_line(webhook_id, functools.partial(self._drain, webhook_id))

    async def prune(self) -> int:
        return await outbox.prune(self.db, self.settings.keep_delivered)

    async def _drain(self, webhook_id: int) -> None:
        """One target's line, head first, until it is empty or an attempt fails."""
        assert self._limiter is not None and self._pool is not None
        gap = 1.0 / self.settings.rate
        while True:
            started = trio.current_time()
            # the slot first, then the claim: a leased row never waits for a slot, so its
            # lease (timeout + 5 s) always outlives the attempt
            async with self._limiter:
                delivery = await outbox.claim_head(self.db, webhook_id, self.settings.lease)
                if delivery is None:
                    return
                result = await attempt(self._pool, delivery, rules=self.settings.rules, timeout=self.settings.timeout)
            if not await self._record(delivery, result):
                return
            await trio.sleep(max(0.0, gap - (trio.current_time() - started)))

    async def _record(self, delivery: WebhookDelivery, result: Attempt) -> bool:
        """Store the outcome; True when the target's next delivery may go now."""
        if result.ok:
            await outbox.delivered(self.db, delivery.id, result.status or 200)
            self.delivered += 1
            log.debug("webhook_delivered", webhook=delivery.webhook_id, id=message_id(delivery),
                      event_id=delivery.event_id, status=result.status, attempt=delivery.attempt)
            return True
        self.failures += 1
        # 410: the target asks to be unsubscribed; paused now, the delivery kept at the head of its line
        gone = result.status == GONE
        wait = 0.0 if gone else next_wait(self.settings.schedule, delivery.attempt, result.retry_after)
        self.dead_lettered += wait is None
        paused = await outbox.failed(self.db, delivery, result.status, result.error, wait,
                                     1 if gone else self.settings.pause_after,
                                     pause_reason=result.error if gone else None)
        log.warning("webhook_failed" if wait is not None else "webhook_dead_lettered", webhook=delivery.webhook_id,
                    id=message_id(delivery), event_id=delivery.event_id, attempt=delivery.attempt,
                    status=result.status, error=result.error[:200],
                    retry_in=None if wait is None else round(wait, 1))
        if paused:
            why = "it answered 410 Gone" if gone else f"{self.settings.pause_after} failed attempts in a row"
            log.warning("webhook_paused", webhook=delivery.webhook_id,
                        detail=f"{why}; POST /api/webhooks/{{id}}/redeliver resumes it, DELETE ends it")
        return False
