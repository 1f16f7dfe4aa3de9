"""One-for-one supervision of actors: restart with capped, jittered back-off; give up past a limit.

An actor is ``async def run(*, task_status)``.  Returning normally means it finished (its
input ended): it is not restarted.  Raising ``Exception`` is a crash: it is logged and the
actor is started again after ``delay = min(cap, base * 2**n) * jitter``.  More than
``max_restarts`` crashes within ``window`` seconds raises ``TooManyCrashes`` out of the
supervisor's nursery, which ends the daemon (systemd restarts it).
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, Literal

import attrs
import trio

from vibed.logs import get_logger
from vibed.vocab.backoff import Backoff

ActorState = Literal["starting", "running", "restarting", "finished", "failed"]
log = get_logger("vibed.supervisor")

ActorFn = Callable[..., Awaitable[None]]


class TooManyCrashes(RuntimeError):
    """An actor crashed more often than the restart policy allows."""


@attrs.frozen
class RestartPolicy:
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_restarts: int = 5
    window: float = 60.0

    def delay(self, consecutive: int, rng: random.Random) -> float:
        return Backoff(self.base_delay, self.max_delay).delay(consecutive, rng)  # never less than half


@attrs.frozen
class SlotStatus:
    name: str
    state: ActorState
    restarts: int
    last_error: str | None


@attrs.define(eq=False)
class Slot:
    name: str
    state: ActorState = "starting"
    restarts: int = 0
    last_error: str | None = None
    crashes: deque[float] = attrs.field(factory=deque)
    finished: trio.Event = attrs.field(factory=trio.Event)
    scope: trio.CancelScope = attrs.field(factory=trio.CancelScope)

    def status(self) -> SlotStatus:
        return SlotStatus(self.name, self.state, self.restarts, self.last_error)


@attrs.define(eq=False)
class Supervisor:
    policy: RestartPolicy = attrs.field(factory=RestartPolicy)
    rng: random.Random = attrs.field(factory=random.Random)
    slots: dict[str, Slot] = attrs.field(factory=dict)
    on_restart: Callable[[str], None] | None = None

    def statistics(self) -> list[SlotStatus]:
        return [slot.status() for slot in self.slots.values()]

    async def wait_finished(self, names: list[str]) -> None:
        """Wait until each named actor has returned (its input ended)."""
        for name in names:
            if name in self.slots:
                await self.slots[name].finished.wait()

    def stop(self, name: str) -> None:
        """Cancel one actor (e.g. a fetcher no longer wanted after a reload); it is not restarted."""
        slot = self.slots.pop(name, None)
        if slot is not None:
            slot.scope.cancel()

    async def start(self, nursery: trio.Nursery, name: str, fn: ActorFn, *args: Any) -> None:
        """Start ``fn`` under supervision in ``nursery``; return once its first run is ready."""
        slot = Slot(name)
        self.slots[name] = slot
        await nursery.start(self._supervise, slot, fn, args)

    async def _supervise(self, slot: Slot, fn: ActorFn, args: tuple[Any, ...],
                         task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        with slot.scope:
            await self._restart_loop(slot, fn, args, task_status)
        slot.state = "finished" if slot.state != "failed" else slot.state
        slot.finished.set()

    async def _restart_loop(self, slot: Slot, fn: ActorFn, args: tuple[Any, ...],
                            task_status: trio.TaskStatus[None]) -> None:
        consecutive = 0
        ready: trio.TaskStatus[None] | None = task_status
        while True:
            started_at = trio.current_time()
            try:
                async with trio.open_nursery() as nursery:
                    slot.state = "starting"
                    await nursery.start(partial(fn, *args))
                    slot.state = "running"
                    if ready is not None:
                        ready.started()
                        ready = None
                slot.state = "finished"
                slot.finished.set()
                log.debug("actor_finished", actor=slot.name)
                return
            except Exception as group:  # one actor's crash must not take the others down
                exc = _leaf(group)
                if ready is not None:
                    raise exc from None  # an actor that cannot even start is a start-up error
                now = trio.current_time()
                if now - started_at > self.policy.window:
                    consecutive = 0  # it had been healthy for a while: start the back-off afresh
                slot.crashes.append(now)
                while slot.crashes and slot.crashes[0] < now - self.policy.window:
                    slot.crashes.popleft()
                slot.last_error = f"{type(exc).__name__}: {exc}"[:300]
                consecutive += 1
                if len(slot.crashes) > self.policy.max_restarts:
                    slot.state = "failed"
                    log.error("actor_gave_up", actor=slot.name, crashes=len(slot.crashes),
                              window_s=self.policy.window, error=slot.last_error)
                    raise TooManyCrashes(
                        f"actor {slot.name!r} crashed {len(slot.crashes)} times in "
                        f"{self.policy.window:g}s; last error: {slot.last_error}"
                    ) from exc
                delay = self.policy.delay(consecutive, self.rng)
                slot.state = "restarting"
                log.error("actor_crashed", actor=slot.name, error=slot.last_error,
                          restart_in=round(delay, 3), restarts=slot.restarts)
                await trio.sleep(delay)
                slot.restarts += 1
                if self.on_restart is not None:
                    self.on_restart(slot.name)
                log.info("actor_restarted", actor=slot.name, restarts=slot.restarts)


def _leaf(exc: BaseException) -> BaseException:
    """The one real error inside nursery exception groups."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc
