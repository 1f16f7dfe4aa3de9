"""The broadcaster actor: stored events in, the local hub and (with Redis) every other instance out."""

from __future__ import annotations

import attrs
import trio

from vibed.delivery.redis_feed import RedisFeed
from vibed.delivery.sequencer import Sequencer
from vibed.messages import StoredEvent


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
                await self.sequencer.deliver(batch)
                if self.feed is not None:
                    self.feed.publish_nowait(tuple(batch))
