"""The notify schedule, pure: when a target's pending releases are due, over time zones, quiet hours over
midnight, DST, digests and the flood window.  No database, no clock: instants in, instants out."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from vibed.targets.schedule import (
    BadSchedule,
    Flood,
    QuietHours,
    Schedule,
    Why,
    Window,
    due,
    next_boundary,
    parse_quiet_hours,
    parse_tz,
)

UTC = dt.UTC
KOLKATA = ZoneInfo("Asia/Kolkata")  # +05:30: its hours begin at :30 UTC
BERLIN = ZoneInfo("Europe/Berlin")
FLOOD = Flood(limit=3, window=60.0)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(UTC)


@pytest.mark.parametrize(("t", "period", "tz", "boundary"), [
    ("2026-12-02T10:15:00+05:30", 3600, KOLKATA, "2026-12-02T11:00:00+05:30"),  # hourly, on the local hour
    ("2026-12-02T10:59:59.9+05:30", 3600, KOLKATA, "2026-12-02T11:00:00+05:30"),
    ("2026-12-02T11:00:00+05:30", 3600, KOLKATA, "2026-12-02T12:00:00+05:30"),  # on a boundary: the next one
    ("2026-12-02T23:40:00+05:30", 86400, KOLKATA, "2026-12-03T00:00:00+05:30"),  # daily: local midnight
    ("2026-12-02T10:00:01+00:00", 2, UTC, "2026-12-02T10:00:02+00:00"),  # a shortened period, for tests
    ("2026-12-02T23:59:59+00:00", 7000, UTC, "2026-12-03T00:00:00+00:00"),  # a period restarts at midnight
    ("2026-03-29T01:30:00+01:00", 3600, BERLIN, "2026-03-29T03:00:00+02:00"),  # DST starts: 02:00 never is
    ("2026-10-25T02:30:00+01:00", 3600, BERLIN, "2026-10-25T03:00:00+01:00"),  # DST ends: the repeated hour
])
def test_digest_boundaries_are_counted_on_the_targets_wall_clock(t, period, tz, boundary):
    assert next_boundary(at(t), period, tz) == at(boundary)


def test_an_hourly_digest_is_due_at_the_boundary_of_its_oldest_releases_period():
    schedule = Schedule(KOLKATA, period=3600)
    when = due(schedule, at("2026-12-02T10:15:00+05:30"), at("2026-12-02T10:20:00+05:30"), Window(), FLOOD)
    assert (when.at, when.cutoff, when.why) == (at("2026-12-02T11:00:00+05:30"),) * 2 + (Why.DIGEST,)


def test_a_digest_boundary_inside_quiet_hours_waits_for_their_end():
    schedule = Schedule(KOLKATA, period=86400, quiet=parse_quiet_hours("22:00-07:00"))
    when = due(schedule, at("2026-12-02T18:00:00+05:30"), at("2026-12-02T18:00:00+05:30"), Window(), FLOOD)
    assert when.at == when.cutoff == at("2026-12-03T07:00:00+05:30")


@pytest.mark.parametrize(("arrived", "ends"), [
    ("2026-12-02T22:00:00+05:30", "2026-12-03T07:00:00+05:30"),  # the evening part: they end tomorrow
    ("2026-12-03T03:10:00+05:30", "2026-12-03T07:00:00+05:30"),  # the morning part: today
])
def test_a_release_in_quiet_hours_over_midnight_waits_for_their_end(arrived, ends):
    schedule = Schedule(KOLKATA, quiet=parse_quiet_hours("22:00-07:00"))
    when = due(schedule, at(arrived), at(arrived), Window(), FLOOD)
    assert (when.at, when.cutoff, when.why) == (at(ends), at(ends), Why.QUIET)


def test_outside_quiet_hours_a_release_is_due_at_once_and_the_next_quiet_hours_cut_the_message():
    schedule = Schedule(KOLKATA, quiet=parse_quiet_hours("22:00-07:00"))
    when = due(schedule, at("2026-12-02T21:59:59+05:30"), at("2026-12-02T22:00:01+05:30"), Window(), FLOOD)
    assert (when.at, when.cutoff, when.why) == (at("2026-12-02T21:59:59+05:30"), at("2026-12-02T22:00:00+05:30"),
                                                Why.NOW)


def test_past_the_flood_limit_releases_wait_for_the_windows_end():
    opened = at("2026-12-02T10:00:00+00:00")
    oldest, now = opened + dt.timedelta(seconds=20), opened + dt.timedelta(seconds=21)
    held = due(Schedule(UTC), oldest, now, Window(opened, 3), FLOOD)
    assert (held.at, held.why) == (opened + dt.timedelta(seconds=60), Why.FLOOD)
    under = due(Schedule(UTC), oldest, now, Window(opened, 2), FLOOD)
    assert (under.at, under.why) == (oldest, Why.NOW)
    later = due(Schedule(UTC), oldest, opened + dt.timedelta(seconds=61), Window(opened, 9), FLOOD)
    assert later.why is Why.NOW  # the window is over


@pytest.mark.parametrize(("text", "hours"), [("22:00-07:00", QuietHours(79200, 25200)),
                                              ("00:30-06:00", QuietHours(1800, 21600)),
                                              (" 13:00:05-13:00:09 ", QuietHours(46805, 46809))])
def test_quiet_hours_are_read(text, hours):
    assert parse_quiet_hours(text) == hours


@pytest.mark.parametrize("text", ["22-07", "22:00", "24:00-07:00", "07:00-07:00", "late", "22:00-07:60"])
def test_bad_quiet_hours_name_the_format(text):
    with pytest.raises(BadSchedule, match="quiet_hours"):
        parse_quiet_hours(text)


@pytest.mark.parametrize("name", ["Mars/Olympus", "", "../../etc/passwd", "/etc/localtime", "x" * 100])
def test_bad_time_zones_name_an_example(name):
    with pytest.raises(BadSchedule, match="Asia/Kolkata"):
        parse_tz(name)
