"""Control: the one door through which pokes (SIGUSR1, POST /api/new-releases/fetch) reach the scheduler.

The poke channel has one slot.  A request while a poke is already queued coalesces into it:
the queued round is widened to cover the union of what was asked (languages, sources), and
the caller learns the id of the round that will run.
"""

from __future__ import annotations

import attrs
import trio

from vibed.logs import get_logger
from vibed.pipeline.scheduler import new_round_id
from vibed.vocab.messages import Poke

log = get_logger("vibed.control")


@attrs.frozen
class Requested:
    round_id: str
    coalesced: bool  # True: joined a round already queued
    dropped: str | None = None  # why no round will run (the asker is told 503), else None


def _union(a: tuple[str, ...] | None, b: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if a is None or b is None:
        return None  # None means "all"
    return tuple(dict.fromkeys(a + b))


@attrs.define(eq=False)
class Control:
    pokes: trio.MemorySendChannel[Poke]
    pending: Poke | None = None  # what the queued round will cover

    def request_round(self, origin: str, languages: tuple[str, ...] | None = None,
                      sources: tuple[str, ...] | None = None, *, round_id: str | None = None) -> Requested:
        """``round_id``: the id a serve process already gave the requester (see vibed/roles.py)."""
        if self.pending is not None:
            self.pending = attrs.evolve(self.pending, languages=_union(self.pending.languages, languages),
                                        sources=_union(self.pending.sources, sources))
            log.info("fetch_poke_coalesced", origin=origin, round_id=self.pending.round_id)
            return Requested(self.pending.round_id or "", True)
        poke = Poke(origin=origin, languages=languages, sources=sources, round_id=round_id or new_round_id())
        try:
            self.pokes.send_nowait(poke)
        except (trio.WouldBlock, trio.BrokenResourceError, trio.ClosedResourceError):
            reason = "the scheduler is not taking rounds (this process is stopping)"
            log.warning("fetch_poke_dropped", origin=origin, reason=reason)
            return Requested(poke.round_id or "", False, dropped=reason)
        self.pending = poke
        return Requested(poke.round_id or "", False)

    async def ask_round(self, origin: str, languages: tuple[str, ...] | None = None,
                        sources: tuple[str, ...] | None = None) -> Requested:
        """``request_round`` as the HTTP endpoint asks it (a serve process's control must wait)."""
        return self.request_round(origin, languages, sources)

    def take(self, poke: Poke) -> Poke:
        """Called by the scheduler when it receives ``poke``: the (possibly widened) request."""
        pending, self.pending = self.pending, None
        return pending if pending is not None and pending.round_id == poke.round_id else poke
