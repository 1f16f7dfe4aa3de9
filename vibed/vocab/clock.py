"""Time: the one UTC timestamp format (``utc_iso``), and the scheduler's clock — the wall clock, or a
sped-up trace clock for the simulator's trace mode.

``VIBED_TRACE_CLOCK="<wall epoch>,<trace epoch>,<speed>"`` makes the scheduler (and what it learns
from stored history) live in trace time: ``trace = trace0 + (wall - wall0) × speed``.  Only the
benchmark uses it (``tests/benchmarks/detection.py``), together with a bucket whose
``refill_interval`` is divided by the same speed; unset, every instant is the wall clock's.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import overload

import attrs


@overload
def utc_iso(stamp: dt.datetime, timespec: str = ...) -> str: ...
@overload
def utc_iso(stamp: None, timespec: str = ...) -> None: ...
@overload
def utc_iso(stamp: dt.datetime | None, timespec: str = ...) -> str | None: ...


def utc_iso(stamp: dt.datetime | None, timespec: str = "milliseconds") -> str | None:
    """``2026-11-28T19:00:00.123Z``: an aware instant in UTC with a ``Z``; ``timespec`` as ``isoformat``'s
    ("seconds", "milliseconds", "auto"); None stays None."""
    return None if stamp is None else stamp.astimezone(dt.UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


@attrs.frozen
class Clock:
    wall0: float = 0.0
    trace0: float = 0.0
    speed: float = attrs.field(default=1.0, validator=attrs.validators.gt(0))

    @classmethod
    def parse(cls, value: str) -> Clock:
        """``"wall0,trace0,speed"`` (unix seconds, unix seconds, factor); ValueError says what is wrong."""
        parts = [p.strip() for p in value.split(",")]
        try:
            wall0, trace0, speed = (float(p) for p in parts)
        except ValueError:
            raise ValueError("is not 'wall epoch,trace epoch,speed', e.g. '1764400000,1764171000,60'") from None
        if speed <= 0:
            raise ValueError("needs a speed above 0")
        return cls(wall0, trace0, speed)

    @property
    def real(self) -> bool:
        return self.speed == 1.0 and self.wall0 == self.trace0

    def trace_of(self, wall: float) -> float:
        return self.trace0 + (wall - self.wall0) * self.speed

    def now(self) -> dt.datetime:
        return dt.datetime.fromtimestamp(self.trace_of(time.time()), dt.UTC)

    def to_trace(self, when: dt.datetime) -> dt.datetime:
        """A wall-clock instant (e.g. a stored ``first_seen``) in trace time."""
        return dt.datetime.fromtimestamp(self.trace_of(when.timestamp()), dt.UTC)

    def wall_seconds(self, trace_seconds: float) -> float:
        """How long a trace duration lasts on the wall clock (what to sleep)."""
        return trace_seconds / self.speed
