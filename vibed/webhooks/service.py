"""``open_webhooks``: the webhook sender of one process, as a handle the composition root holds.

It runs in every role: senders of several processes share the outbox safely (a claimed row is
leased).  A delivered event wakes it (``wake_nowait``); wake-ups coalesce in the channel's one
slot, since the outbox rows are committed already.
"""

from __future__ import annotations

import contextlib

import attrs
import trio

from vibed.config import Config
from vibed.health import WebhooksHealth
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.webhooks import subscriptions
from vibed.webhooks.sender import SenderSettings, WebhookSender


@attrs.define(eq=False)
class WebhooksService:
    db: Database
    sender: WebhookSender
    _sup: Supervisor
    _wakes: trio.MemorySendChannel[None]

    def wake_nowait(self) -> None:
        """The sender looks at the outbox now."""
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self._wakes.send_nowait(None)

    async def health(self) -> WebhooksHealth:
        return await subscriptions.health(self.db)

    async def reconfigure(self, config: Config) -> None:
        """Nothing of the sender changes live: its settings need a restart (vibed/config/reload.py)."""

    async def drain(self) -> None:
        await self._wakes.aclose()
        await self._sup.wait_finished(["webhooks"])


async def open_webhooks(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> WebhooksService:
    wakes_s, wakes_r = trio.open_memory_channel[None](1)  # wake-ups coalesce in the single slot
    sender = WebhookSender(db, SenderSettings.of(config))
    await sup.start(nursery, "webhooks", lambda task_status: sender.run(wakes_r.clone(), task_status=task_status))
    return WebhooksService(db, sender, sup, wakes_s)
