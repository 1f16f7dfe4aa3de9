"""An outage as the log tells it: its first failure at once, then at most one line per ``every``
seconds, and one line when it ends.

A loop that retries every second during an outage (Redis down, the database gone) would write
a warning a second for as long as it lasts, and nothing when it is over.  With an ``Outage``:

    outage = Outage(log, "round_requests_unavailable")
    ...
    except RedisUnavailable as exc:
        outage.failed(error=str(exc))      # the first at once; then one line a minute, counting
    ...
    outage.succeeded()                     # once, after failures: outage_recovered

Each warning carries ``failures`` (how many since the outage began) and ``outage_s``; the end is
``{"event": "outage_recovered", "outage": <the warning's event>, "outage_s", "failures"}``, at
info level, in the caller's namespace.  Time is Trio's clock, so tests run it on a fake one.
"""

from __future__ import annotations

import math
from typing import Any

import attrs
import trio
from structlog.typing import FilteringBoundLogger

REPEAT_EVERY_S = 60.0


@attrs.define(eq=False)
class Outage:
    log: FilteringBoundLogger  # a vibed.logs logger: the lines are in the caller's namespace
    event: str  # the warning's event name, e.g. "round_requests_unavailable"
    every: float = REPEAT_EVERY_S
    began: float | None = None  # None: no outage now
    failures: int = 0
    _told: float = -math.inf

    def failed(self, **fields: Any) -> None:
        """One failure: logged when it starts an outage or ``every`` seconds have passed since the last line."""
        now = trio.current_time()
        if self.began is None:
            self.began, self.failures, self._told = now, 0, -math.inf
        self.failures += 1
        if now - self._told >= self.every:
            self._told = now
            self.log.warning(self.event, failures=self.failures, outage_s=round(now - self.began, 1), **fields)

    def succeeded(self, **fields: Any) -> None:
        """The operation worked: an outage in progress ends, with one line saying so."""
        if self.began is None:
            return
        lasted = trio.current_time() - self.began
        self.log.info("outage_recovered", outage=self.event, outage_s=round(lasted, 1), failures=self.failures,
                      **fields)
        self.began = None
