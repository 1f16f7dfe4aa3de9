"""Entries as an iCalendar file (RFC 5545, through ``icalendar``): one all-day event per release.

The event lies on the release date (an undated release: the day vibed first saw it) and lasts that
day (``DTEND`` is the next day, as RFC 5545 has all-day events end).  Its ``UID`` is the entry's tag
URI — the source and the upstream id only — so a calendar app that subscribes keeps each release as
one event across refreshes, instances and restarts.  ``DTSTAMP`` is when vibed first saw the release:
nothing here reads a clock, so equal entries give equal bytes (and equal ETags), as for the feeds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from icalendar import Calendar, Event

from vibed.feeds.entries import Entry
from vibed.feeds.render import FeedInfo

PRODID = "-//vibed//new releases//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


def event_day(entry: Entry) -> dt.date:
    return entry.release_date or entry.updated.astimezone(dt.UTC).date()


def ics(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    cal = Calendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", info.title)
    cal.add("x-wr-caldesc", "New releases, one all-day event each on its release date, as vibed stores them.")
    cal.add("url", info.self_url)
    for entry in entries:
        day = event_day(entry)
        event = Event()
        event.add("uid", entry.id)
        event.add("dtstamp", entry.updated.astimezone(dt.UTC))
        event.add("dtstart", day)
        event.add("dtend", day + dt.timedelta(days=1))
        event.add("transp", "TRANSPARENT")  # a release is not a meeting: it never makes anyone busy
        by = ", ".join(entry.artists)
        event.add("summary", f"{entry.title} — {by}" if by else entry.title)
        event.add("description", entry.summary)
        event.add("url", entry.link)
        event.add("categories", [t for t in (entry.language, entry.kind, entry.source) if t])
        cal.add_component(event)
    text: bytes = cal.to_ical()
    return text
