"""The push sender: drains the push outbox to every subscription, each in order, many at once.

In: wake-ups (``None``) from the wiring whenever events are delivered — their outbox rows are
committed already.  Out: nothing; outcomes are recorded in the outbox.  Ends when its wake-up
channel ends.

One loop claims due heads of line (at most one per subscription, so each subscription's
messages go out in event order) for every free slot of ``concurrency``, and starts one task per
claimed row: encrypt, POST, free the slot, hand the outcome to the recorder.  The recorder writes
what has arrived in one statement (a release to 10,000 subscriptions is 10,000 outcomes: one UPDATE
per batch, not per row) and tells the loop to claim again — the rows behind the delivered heads are
heads now.  Every ``poll`` seconds the loop also looks for retries that came
due.  A 404 or 410 deletes the subscription; a failure is backed off on the webhooks' schedule,
then dead-lettered.  A database outage is logged and waited out: a claimed row's lease runs out
and it is sent again.  The loop is the outboxes' one (vibed/outbox/loop.py).
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import AsyncIterator

import attrs
import httpcore
import trio

from vibed.config import Config
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.outbox.backoff import next_wait
from vibed.outbox.loop import LoopNames, OutboxLoop, lease_after
from vibed.outbox.reach import TargetRules
from vibed.push import outbox, subscriptions
from vibed.push.crypto import Vapid
from vibed.push.outbox import PushDelivery
from vibed.push.send import Attempt, attempt
from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.webhooks.send import open_sender_pool
from vibed.webhooks.sender import SenderSettings

log = get_logger("vibed.push")
RECORD_BATCH = 1000  # outcomes written in one statement at most
# httpcore's pool looks at every connection for each one on every request (quadratic in its size):
# 64 connections in one pool cost more CPU than the encryption; 8 pools of 8 cost 1/8 of that
POOL_SIZE = 8
NAMES = LoopNames(pruned=None, owner="subscription")  # prunes quietly, as it always has


@contextlib.asynccontextmanager
async def open_pools(rules: TargetRules, concurrency: int) -> AsyncIterator[list[httpcore.AsyncConnectionPool]]:
    """Vetted connection pools of at most ``POOL_SIZE`` connections, ``concurrency`` connections in all."""
    async with contextlib.AsyncExitStack() as stack:
        yield [await stack.enter_async_context(open_sender_pool(rules, min(POOL_SIZE, concurrency - start)))
               for start in range(0, concurrency, POOL_SIZE)]


@attrs.frozen
class PushSettings:
    rules: TargetRules
    schedule: tuple[float, ...]
    concurrency: int = 64
    timeout: float = 10.0
    ttl: int = 86400
    keep_delivered: float = 7 * 86400.0
    poll: float = 1.0
    prune_every: float = 3600.0

    @property
    def lease(self) -> float:
        return lease_after(self.timeout)

    @classmethod
    def of(cls, config: Config) -> PushSettings:
        hooks = SenderSettings.of(config)  # the webhooks' rules, schedule, timeout, retention and poll
        return cls(rules=hooks.rules, schedule=hooks.schedule, concurrency=config.push_concurrency,
                   timeout=hooks.timeout, ttl=config.push_ttl, keep_delivered=hooks.keep_delivered, poll=hooks.poll)


@attrs.define(eq=False)
class PushSender:
    db: Database
    vapid: Vapid
    settings: PushSettings
    delivered: int = 0
    failures: int = 0
    dead_lettered: int = 0
    gone: int = 0
    _in_flight: int = 0
    _outage: Outage = attrs.field(factory=lambda: Outage(log, "push_outbox_unavailable"))
    _pools: list[httpcore.AsyncConnectionPool] = attrs.field(factory=list)
    _outcomes: trio.MemorySendChannel[tuple[PushDelivery, Attempt]] | None = None

    async def run(self, inbox: trio.MemoryReceiveChannel[None], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._in_flight = 0
        loop = OutboxLoop(self, log, self._outage, NAMES, poll=self.settings.poll,
                          prune_every=self.settings.prune_every)
        outcomes_s, outcomes_r = trio.open_memory_channel[tuple[PushDelivery, Attempt]](math.inf)
        async with outcomes_s, outcomes_r, \
                open_pools(self.settings.rules, self.settings.concurrency) as self._pools, \
                trio.open_nursery() as recording:
            self._outcomes = outcomes_s
            recording.start_soon(self._record_outcomes, outcomes_r, loop)
            await loop.run(inbox, task_status=task_status)  # its end cancels the attempts in flight
            recording.cancel_scope.cancel()

    async def sweep(self, loop: OutboxLoop) -> None:
        """Claim a due head for every free slot, and send each in a task of its own."""
        free = self.settings.concurrency - self._in_flight
        if free <= 0:
            return
        claimed = await outbox.claim_heads(self.db, free, self.settings.lease)
        self._in_flight += len(claimed)
        for delivery in claimed:  # a subscription keeps to one pool (its connections stay warm)
            pool = self._pools[delivery.subscription_id % len(self._pools)]
            loop.start_soon(functools.partial(self._send, pool, delivery, loop))

    async def prune(self) -> int:
        return await outbox.prune(self.db, self.settings.keep_delivered)

    async def _send(self, pool: httpcore.AsyncConnectionPool, delivery: PushDelivery, loop: OutboxLoop) -> None:
        assert self._outcomes is not None
        result = await attempt(pool, delivery, self.vapid, rules=self.settings.rules,
                               timeout=self.settings.timeout, ttl=self.settings.ttl)
        # the slot is free for another subscription's head now; this one's next row waits for the record
        self._in_flight -= 1
        loop.changed()
        self._outcomes.send_nowait((delivery, result))  # unbounded, but each outcome took a claim, a slot and an attempt

    async def _record_outcomes(self, outcomes: trio.MemoryReceiveChannel[tuple[PushDelivery, Attempt]],
                               loop: OutboxLoop) -> None:
        async for first in outcomes:
            batch = [first]
            while len(batch) < RECORD_BATCH:
                try:
                    batch.append(outcomes.receive_nowait())
                except trio.WouldBlock:
                    break
            try:
                await self._record(batch)
            except DatabaseUnavailable as exc:
                self._outage.failed(error=str(exc)[:200])  # the leases run out: those rows are sent again
            loop.changed()  # the rows behind the recorded heads are heads now

    async def _record(self, batch: list[tuple[PushDelivery, Attempt]]) -> None:
        ok = [(d.id, r.status or 201) for d, r in batch if r.outcome == "delivered"]
        await outbox.delivered(self.db, ok)
        self.delivered += len(ok)
        for delivery, result in batch:
            if result.outcome == "delivered":
                continue
            self.failures += 1
            if result.outcome == "gone":
                await subscriptions.gone(self.db, delivery.subscription_id)
                self.gone += 1
                log.info("push_subscription_gone", subscription=delivery.subscription_id, status=result.status)
                continue
            wait = None if result.outcome == "rejected" else next_wait(
                self.settings.schedule, delivery.attempt, result.retry_after)
            self.dead_lettered += wait is None
            await outbox.failed(self.db, delivery.id, result.status, result.error, wait)
            log.warning("push_failed" if wait is not None else "push_dead_lettered",
                        subscription=delivery.subscription_id, delivery=delivery.id, event_id=delivery.event_id,
                        attempt=delivery.attempt, status=result.status, error=result.error[:200],
                        retry_in=None if wait is None else round(wait, 1))
