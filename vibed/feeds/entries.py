"""One release as a feed entry: a stable id, a title, artists, dates, the cover and a link.

The id is a tag URI (RFC 4151) built from the source and the upstream id only, so it is the
same on every instance and after every restart, re-fetch or database copy — a feed reader
never shows a release twice.  Everything else comes from the ``releases`` row as the list
API shows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

import attrs

TAG_AUTHORITY = "tag:vibed,2026:"  # fixed forever: changing it would change every entry id


@attrs.frozen
class Entry:
    id: str
    title: str
    artists: tuple[str, ...]
    link: str
    published: dt.datetime  # the release date (midnight UTC), else first seen
    updated: dt.datetime  # first seen: when vibed learnt of it
    language: str | None
    kind: str
    source: str
    image: str | None
    release_date: dt.date | None

    @property
    def summary(self) -> str:
        by = ", ".join(self.artists) or "unknown artist"
        when = self.release_date.isoformat() if self.release_date else "undated"
        return f"{self.kind.capitalize()} by {by} · {self.language or 'any language'} · {when} · {self.source}"


def entry_id(source: str, external_id: str) -> str:
    """``tag:vibed,2026:release/jiosaavn/<external id, percent-encoded>``."""
    return f"{TAG_AUTHORITY}release/{quote(source, safe='')}/{quote(external_id, safe='')}"


def entry_of(row: Mapping[str, Any], public_url: str) -> Entry:
    seen = row["first_seen"].astimezone(dt.UTC)
    day = row["release_date"]
    published = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC) if day else seen
    artists = tuple(a.get("name", "") for a in (row["artists"] or []) if a.get("name"))
    return Entry(
        id=entry_id(row["source"], row["external_id"]), title=row["title"], artists=artists,
        link=row["url"] or f"{public_url}/api/releases/{row['id']}", published=published, updated=seen,
        language=row["language"], kind=row["kind"], source=row["source"], image=row["image"],
        release_date=day,
    )
