"""``open_targets``: the notify sender of one process, as a handle the composition root holds.

It runs in every role: senders of several processes share the outbox safely (claimed rows are
leased).  A delivered event wakes it (``wake_nowait``); wake-ups coalesce in the channel's one slot,
since the outbox rows are committed already.
"""

from __future__ import annotations

import contextlib

import attrs
import trio

from vibed.config import Config
from vibed.health import TargetsHealth
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.targets import registry
from vibed.targets.sender import SenderSettings, TargetSender


@attrs.define(eq=False)
class TargetsService:
    db: Database
    sender: TargetSender
    _sup: Supervisor
    _wakes: trio.MemorySendChannel[None]

    def wake_nowait(self) -> None:
        """The sender looks at the outbox now."""
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self._wakes.send_nowait(None)

    async def health(self) -> TargetsHealth:
        return await registry.health(self.db)

    async def reconfigure(self, config: Config) -> None:
        """Nothing of the sender changes live: its settings need a restart (vibed/config/reload.py)."""

    async def drain(self) -> None:
        await self._wakes.aclose()
        await self._sup.wait_finished(["notify-targets"])


async def open_targets(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> TargetsService:
    wakes_s, wakes_r = trio.open_memory_channel[None](1)  # wake-ups coalesce in the single slot
    sender = TargetSender(db, SenderSettings.of(config))
    await sup.start(nursery, "notify-targets",
                    lambda task_status: sender.run(wakes_r.clone(), task_status=task_status))
    return TargetsService(db, sender, sup, wakes_s)
