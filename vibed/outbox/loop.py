"""``OutboxLoop``: the sender loop the three outboxes (webhooks, Web Push, notification targets) share.

In: wake-ups (``None``) from the wiring whenever events are delivered — their outbox rows are committed
already.  Out: nothing; a kind records outcomes in its outbox.  Ends when its wake-up channel ends.

The loop looks at the outbox (``Kind.sweep``) at once, then every ``poll`` seconds, on a wake-up, or when
the kind says a claim may find more now (``changed``: a slot freed, heads recorded); and once every
``prune_every`` seconds it forgets delivered rows older than ``keep_delivered``.  A database outage is
logged through the kind's ``Outage`` (one line a minute) and waited out, never a crash: a claimed row's
lease runs out and it is sent again.  Ending cancels every attempt in flight, for the same reason.

What a kind supplies is only what differs: how it claims and sends (``sweep``, which starts its tasks
with ``start_soon``, or one worker per owner with ``start_line``), and the names its log lines carry.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import Protocol

import attrs
import trio
from structlog.typing import FilteringBoundLogger

from vibed.logs.outage import Outage
from vibed.store.postgres import DatabaseUnavailable

LEASE_MARGIN = 5.0  # seconds a lease outlasts the longest attempt: a live sender records before it ends


def lease_after(attempt_s: float) -> float:
    """The lease of a claimed row whose attempt takes at most ``attempt_s``."""
    return attempt_s + LEASE_MARGIN


class Kind(Protocol):
    async def sweep(self, loop: OutboxLoop) -> None:
        """Claim what is due and start sending it; ``DatabaseUnavailable`` is the loop's to tell."""

    async def prune(self) -> int:
        """Forget the delivered rows past their retention; how many went."""


@attrs.frozen
class LoopNames:
    """What this kind's log lines say: the pruned line (None: none) and its count, and an owner's field."""

    pruned: str | None  # "webhook_log_pruned"
    pruned_count: str = "rows"  # "deliveries"
    owner: str = "owner"  # "webhook": the field naming the owner whose worker met an outage


@attrs.define(eq=False)
class OutboxLoop:
    kind: Kind
    log: FilteringBoundLogger
    outage: Outage
    names: LoopNames
    poll: float = 1.0
    prune_every: float = 3600.0
    _changed: trio.Event = attrs.field(factory=trio.Event)
    _active: set[int] = attrs.field(factory=set)
    _nursery: trio.Nursery | None = None

    def changed(self) -> None:
        """A claim may find more now: the loop looks again at once."""
        self._changed.set()

    def start_soon(self, fn: Callable[[], Awaitable[None]]) -> None:
        """A task of this loop: cancelled when it ends (a row cut short is sent again when its lease ends)."""
        assert self._nursery is not None
        self._nursery.start_soon(fn)

    def has_line(self, owner: int) -> bool:
        """A worker has ``owner``'s line now."""
        return owner in self._active

    def start_line(self, owner: int, work: Callable[[], Awaitable[None]]) -> bool:
        """``work`` for ``owner``'s line unless a worker has it already (one at a time keeps its order);
        False when one has.  An outage met by the worker is told, with the owner."""
        if owner in self._active:
            return False
        self._active.add(owner)

        async def line() -> None:
            try:
                await work()
            except DatabaseUnavailable as exc:
                self.outage.failed(**{self.names.owner: owner}, error=str(exc)[:200])
            finally:
                self._active.discard(owner)

        self.start_soon(line)
        return True

    async def run(self, inbox: trio.MemoryReceiveChannel[None], *,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        self._active.clear()
        async with inbox, trio.open_nursery() as nursery:
            self._nursery = nursery
            nursery.start_soon(self._sweeps)
            task_status.started()
            async for _ in inbox:
                self._changed.set()
            nursery.cancel_scope.cancel()  # an attempt cut short is sent again when its lease ends

    async def _sweeps(self) -> None:
        pruned_at = -math.inf
        while True:
            self._changed = trio.Event()  # set from here on: a wake-up during the sweep is not lost
            try:
                await self.kind.sweep(self)
                if trio.current_time() - pruned_at >= self.prune_every:
                    pruned_at = trio.current_time()
                    gone = await self.kind.prune()
                    if gone and self.names.pruned is not None:
                        self.log.info(self.names.pruned, **{self.names.pruned_count: gone})
            except DatabaseUnavailable as exc:
                self.outage.failed(error=str(exc)[:200])
            else:
                self.outage.succeeded()
            with trio.move_on_after(self.poll):
                await self._changed.wait()
