"""``open_push``: the VAPID key and the push sender of one process, as a handle the composition root holds.

It runs in every role, as the webhook sender does: senders of several processes share the outbox
safely (a claimed row is leased), and every process signs with the one key in ``push_vapid``.
"""

from __future__ import annotations

import contextlib

import attrs
import trio

from vibed.config import Config
from vibed.health import PushHealth
from vibed.push import keys, subscriptions
from vibed.push.sender import PushSender, PushSettings
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor


@attrs.define(eq=False)
class PushService:
    db: Database
    sender: PushSender
    _sup: Supervisor
    _wakes: trio.MemorySendChannel[None]

    def wake_nowait(self) -> None:
        """The sender looks at the outbox now."""
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self._wakes.send_nowait(None)

    async def health(self) -> PushHealth:
        return await subscriptions.health(self.db)

    async def reconfigure(self, config: Config) -> None:
        """Nothing of the sender changes live: its settings need a restart."""

    async def drain(self) -> None:
        await self._wakes.aclose()
        await self._sup.wait_finished(["push"])


async def open_push(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> PushService:
    vapid = await keys.load_or_make(db, config.push_contact)
    wakes_s, wakes_r = trio.open_memory_channel[None](1)  # wake-ups coalesce in the single slot
    sender = PushSender(db, vapid, PushSettings.of(config))
    await sup.start(nursery, "push", lambda task_status: sender.run(wakes_r.clone(), task_status=task_status))
    return PushService(db, sender, sup, wakes_s)
