"""When a target's pending releases are due, and which of them go in the message (pure: no I/O).

Every instant is an aware datetime in the database's clock (rows' ``created_at``, its ``now()``):

    digest     the boundary of the period the oldest pending release arrived in, counted in the
               target's time zone from local midnight (hourly: every hour on the hour; daily: midnight;
               a shortened period for tests, e.g. 2 s, the same way); every release of that period
               goes in one message.  A boundary inside quiet hours moves to their end.
    quiet      a release that arrives during quiet hours waits for their end; all that waited go as one.
    flood      otherwise a release is due at once, unless the target has had ``flood.limit`` messages
               in the current window (a minute): then everything waits for the window's end and goes
               as one folded message.

``due`` says when (``at``) and which rows (those created before ``cutoff``; None = all pending).
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import attrs

DAY = 86400


class Why(enum.Enum):
    NOW = "now"  # one release, or a burst that arrived together
    FLOOD = "flood"  # held for the flood window's end: a folded message
    DIGEST = "digest"  # the period's digest
    QUIET = "quiet"  # held by quiet hours


class BadSchedule(ValueError):
    """``str()`` names the field and the fix."""


@attrs.frozen
class QuietHours:
    start: int  # seconds after local midnight
    end: int

    def contains(self, second: float) -> bool:
        if self.start < self.end:
            return self.start <= second < self.end
        return second >= self.start or second < self.end  # over midnight, e.g. 22:00-07:00

    def text(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


def _clock(second: int) -> str:
    h, rest = divmod(second, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02}:{m:02}" + (f":{s:02}" if s else "")


def parse_quiet_hours(text: str) -> QuietHours:
    """``"22:00-07:00"`` (24-hour clock, local time; ``HH:MM:SS`` also read)."""
    start_text, sep, end_text = text.strip().partition("-")
    times = [_TIME.match(part.strip()) for part in (start_text, end_text)]
    if not sep or times[0] is None or times[1] is None:
        raise BadSchedule('quiet_hours: "HH:MM-HH:MM" on a 24-hour clock in the target\'s tz, e.g. "22:00-07:00"')
    start, end = (int(t[1]) * 3600 + int(t[2]) * 60 + int(t[3] or 0) for t in times if t is not None)
    if start == end:
        raise BadSchedule("quiet_hours: start and end are the same time; leave quiet_hours out for none")
    return QuietHours(start, end)


def parse_tz(name: str) -> ZoneInfo:
    try:
        if not name or len(name) > 64 or name.startswith(("/", ".")) or ".." in name:
            raise ValueError(name)
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadSchedule(f"tz: {name[:64]!r} is not an IANA time zone; e.g. \"Asia/Kolkata\", \"Europe/Berlin\", "
                          "\"UTC\"") from None


@attrs.frozen
class Flood:
    limit: int = 3  # messages per window before the rest are folded
    window: float = 60.0  # seconds


@attrs.frozen
class Schedule:
    tz: ZoneInfo
    period: float | None = None  # seconds of a digest period; None = no digest
    quiet: QuietHours | None = None


@attrs.frozen
class Window:
    """The flood window of a target as stored: when it opened and how many messages went in it."""

    start: dt.datetime | None = None
    sends: int = 0


@attrs.frozen
class Due:
    at: dt.datetime
    cutoff: dt.datetime | None  # rows created before it; None = every pending row
    why: Why


def _wall(t: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return t.astimezone(tz).replace(tzinfo=None)


def _instant(wall: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    return wall.replace(tzinfo=tz).astimezone(dt.UTC)


def _midnight(wall: dt.datetime) -> dt.datetime:
    return wall.replace(hour=0, minute=0, second=0, microsecond=0)


def _second(wall: dt.datetime) -> float:
    return (wall - _midnight(wall)).total_seconds()


def next_boundary(t: dt.datetime, period: float, tz: ZoneInfo) -> dt.datetime:
    """The first period boundary after ``t``: local midnight + k·period (a period restarts at midnight)."""
    wall = _wall(t, tz)
    midnight = _midnight(wall)
    k = int(_second(wall) // period) + 1
    boundary = min(midnight + dt.timedelta(seconds=k * period), midnight + dt.timedelta(days=1))
    at = _instant(boundary, tz)
    while at <= t:  # a wall clock turned back (DST's end) repeats an hour: step on
        boundary += dt.timedelta(seconds=period)
        at = _instant(boundary, tz)
    return at


def in_quiet(t: dt.datetime, schedule: Schedule) -> bool:
    return schedule.quiet is not None and schedule.quiet.contains(_second(_wall(t, schedule.tz)))


def quiet_end(t: dt.datetime, quiet: QuietHours, tz: ZoneInfo) -> dt.datetime:
    """The end of the quiet hours ``t`` is in."""
    wall = _wall(t, tz)
    end = _midnight(wall) + dt.timedelta(seconds=quiet.end)
    if end <= wall:  # the evening part of hours over midnight: they end tomorrow
        end += dt.timedelta(days=1)
    return max(_instant(end, tz), t)


def next_quiet_start(t: dt.datetime, quiet: QuietHours, tz: ZoneInfo) -> dt.datetime:
    wall = _wall(t, tz)
    start = _midnight(wall) + dt.timedelta(seconds=quiet.start)
    if start <= wall:
        start += dt.timedelta(days=1)
    return _instant(start, tz)


def due(schedule: Schedule, oldest: dt.datetime, now: dt.datetime, window: Window, flood: Flood) -> Due:
    """When the target's pending rows (the oldest created at ``oldest``) are due, and which go."""
    if schedule.period is not None:
        at = next_boundary(oldest, schedule.period, schedule.tz)
        if schedule.quiet is not None and in_quiet(at, schedule):
            at = quiet_end(at, schedule.quiet, schedule.tz)
        return Due(at, at, Why.DIGEST)
    if schedule.quiet is not None and in_quiet(oldest, schedule):
        at = quiet_end(oldest, schedule.quiet, schedule.tz)
        return Due(at, at, Why.QUIET)
    # what arrives from the next quiet hours on waits for their end
    cutoff = None if schedule.quiet is None else next_quiet_start(oldest, schedule.quiet, schedule.tz)
    if window.start is not None and window.sends >= flood.limit:
        ends = window.start + dt.timedelta(seconds=flood.window)
        if now < ends:
            return Due(max(ends, oldest), cutoff, Why.FLOOD)
    return Due(oldest, cutoff, Why.NOW)
