"""The broadcaster actor: stored events in, the local hub and (with Redis) every other instance out."""

from __future__ import annotations

import attrs
import trio

from vibed.delivery.redis_feed import RedisFeed
from vibed.delivery.sequencer import Sequencer
from vibed.logs import get_logger
from vibed.vocab.messages import StoredEvent

log = get_logger("vibed.delivery")
RETRY_FIRST_S, RETRY_MAX_S = 0.1, 2.0


@attrs.define(eq=False)
class Broadcaster:
    """In: batches of ``StoredEvent`` from the writer, each batch committed and in id order.

    Out: the local hub first (through the sequencer, so our clients see each id once, in order)
    and then Redis, when configured, for the other instances; a Redis outage never delays the
    local delivery.  Ends normally when the inbox ends (``EndOfChannel``).
    """

    sequencer: Sequencer
    feed: RedisFeed | None = None

    async def run(self, inbox: trio.MemoryReceiveChannel[tuple[StoredEvent, ...]], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        async with inbox:
            task_status.started()
            async for batch in inbox:
                await self._deliver(batch)
                if self.feed is not None:
                    self.feed.publish_nowait(tuple(batch))

    async def _deliver(self, batch: tuple[StoredEvent, ...]) -> None:
        """The batch is committed: it is delivered, however long the database needs to come back.
        (Only a gap fill reads the database here; a failed one is retried, never a crash.)"""
        delay = RETRY_FIRST_S
        while True:
            try:
                await self.sequencer.deliver(batch)
                return
            except OSError as exc:  # DatabaseUnavailable is one: the gap before this batch can't be read yet
                log.warning("delivery_retry", error=str(exc)[:200], retry_in=delay)
                await trio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_S)
