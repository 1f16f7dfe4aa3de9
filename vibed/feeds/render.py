"""Entries to bytes: Atom 1.0 and RSS 2.0 through ``feedgen``, JSON Feed 1.1 as plain JSON.

Nothing here reads a clock: the feed's own date is its newest entry's, so equal entries give
equal bytes (and so equal ETags) on every instance, now and after a restart.  The cover is a
``media:thumbnail`` (Media RSS), which Atom and RSS readers both understand.  JSON Feed
is plain JSON after the 1.1 specification (https://jsonfeed.org/version/1.1).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Sequence
from typing import Any

import attrs
from feedgen.feed import FeedGenerator

from vibed.feeds.entries import TAG_AUTHORITY, Entry
from vibed.vocab.clock import utc_iso

EPOCH = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)  # an empty feed's date: fixed, so its ETag is too
JSON_FEED_VERSION = "https://jsonfeed.org/version/1.1"


@attrs.frozen
class FeedInfo:
    """What the feed says about itself: its title, where it lives, and the filter it applies."""

    title: str
    self_url: str  # this feed's own URL (absolute)
    home_url: str  # the live page
    scope: str  # the canonical query, e.g. "language=ml&kind=album" ("" = everything)

    @property
    def id(self) -> str:
        return f"{TAG_AUTHORITY}feed/new-releases" + (f"?{self.scope}" if self.scope else "")


# characters XML 1.0 cannot hold (C0 controls but tab/CR/LF, surrogates, U+FFFE/U+FFFF): a search
# term can bring them in (releases are cleaned by the firewall), and lxml refuses them outright
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(text: str) -> str:
    return _NOT_XML.sub("", text)


def newest(entries: Sequence[Entry]) -> dt.datetime:
    return max((e.updated for e in entries), default=EPOCH)


def _generator(info: FeedInfo, entries: Sequence[Entry], self_type: str) -> FeedGenerator:
    fg = FeedGenerator()
    fg.load_extension("media")
    fg.load_extension("dc", atom=False)  # RSS's own <author> must be an e-mail address: artists go in dc:creator
    fg.id(info.id)
    fg.title(xml_text(info.title))
    fg.description("New releases, newest first, as vibed stores them.")
    fg.link(href=info.self_url, rel="self", type=self_type)
    fg.link(href=info.home_url, rel="alternate")  # last: feedgen makes the last link RSS's <link>
    fg.generator("vibed")
    fg.language("en")
    fg.updated(newest(entries))
    fg.lastBuildDate(newest(entries))
    for entry in entries:
        fe = fg.add_entry(order="append")  # feedgen prepends by default; the listing order is kept
        fe.id(entry.id)
        fe.guid(entry.id, permalink=False)
        fe.title(xml_text(entry.title))
        fe.link(href=entry.link, rel="alternate")
        for name in entry.artists:
            fe.author(name=xml_text(name))
            fe.dc.dc_creator(xml_text(name))
        fe.published(entry.published)
        fe.updated(entry.updated)
        fe.summary(xml_text(entry.summary))  # also RSS's <description>
        fe.category([{"term": t} for t in (entry.language, entry.kind, entry.source) if t])
        if entry.image:
            fe.media.thumbnail({"url": entry.image})
    return fg


def atom(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    text: bytes = _generator(info, entries, "application/atom+xml").atom_str(pretty=False)
    return text


def rss(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    text: bytes = _generator(info, entries, "application/rss+xml").rss_str(pretty=False)
    return text


def json_feed(info: FeedInfo, entries: Sequence[Entry]) -> bytes:
    items: list[dict[str, Any]] = []
    for entry in entries:
        item: dict[str, Any] = {
            "id": entry.id, "url": entry.link, "title": entry.title, "content_text": entry.summary,
            "date_published": utc_iso(entry.published, "seconds"), "date_modified": utc_iso(entry.updated, "seconds"),
            "authors": [{"name": name} for name in entry.artists],
            "tags": [t for t in (entry.language, entry.kind, entry.source) if t],
        }
        if entry.image:
            item["image"] = entry.image
        items.append(item)
    body = {"version": JSON_FEED_VERSION, "title": info.title, "home_page_url": info.home_url,
            "feed_url": info.self_url, "description": "New releases, newest first, as vibed stores them.",
            "language": "en", "items": items}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# suffix -> (renderer, Content-Type)
FORMATS = {
    "atom": (atom, "application/atom+xml; charset=utf-8"),
    "rss": (rss, "application/rss+xml; charset=utf-8"),
    "json": (json_feed, "application/feed+json; charset=utf-8"),
}
