"""``open_outbox``: one kind's sender in one process, as the handle the composition root holds.

Every kind runs in every role: senders of several processes share an outbox safely (a claimed row is
leased).  A delivered event wakes the sender (``wake_nowait``); wake-ups coalesce in the channel's one
slot, since the outbox rows are committed already.  Nothing of a sender changes live: its settings
need a restart (vibed/config/reload.py).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar

import attrs
import trio

from vibed.config import Config
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor


class Sender(Protocol):
    async def run(self, inbox: trio.MemoryReceiveChannel[None], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...


S = TypeVar("S", bound=Sender)
H = TypeVar("H")


@attrs.define(eq=False)
class OutboxService(Generic[S, H]):
    db: Database
    sender: S
    _name: str  # the supervisor's name for the sender
    _health: Callable[[Database], Awaitable[H]]
    _sup: Supervisor
    _wakes: trio.MemorySendChannel[None]

    def wake_nowait(self) -> None:
        """The sender looks at the outbox now."""
        with contextlib.suppress(trio.WouldBlock, trio.ClosedResourceError, trio.BrokenResourceError):
            self._wakes.send_nowait(None)

    async def health(self) -> H:
        return await self._health(self.db)

    async def reconfigure(self, config: Config) -> None:
        """Nothing of the sender changes live: its settings need a restart (vibed/config/reload.py)."""

    async def drain(self) -> None:
        await self._wakes.aclose()
        await self._sup.wait_finished([self._name])


async def open_outbox(nursery: trio.Nursery, sup: Supervisor, name: str, db: Database, sender: S,
                      health: Callable[[Database], Awaitable[H]]) -> OutboxService[S, H]:
    """``sender`` started under ``sup`` as ``name``; its health is ``health(db)``."""
    wakes_s, wakes_r = trio.open_memory_channel[None](1)  # wake-ups coalesce in the single slot
    await sup.start(nursery, name, lambda task_status: sender.run(wakes_r.clone(), task_status=task_status))
    return OutboxService(db, sender, name, health, sup, wakes_s)
