"""A message of one or more releases, as a title and a plain-text body (every Apprise service reads it).

    one release      "New album: Aavesham" / "Sushin Shyam · Malayalam · 2026-04-11\n<url>"
    several          "12 new Malayalam releases" / "12 new Malayalam releases: Title — Artist; …" (a folded
                     burst, or what quiet hours held when the target has no digest)
    digest           "Hourly digest: 14 new releases" / grouped by language, then by first artist

At most ``MAX_LISTED`` releases are named; the rest are counted ("… and 7 more").
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from vibed.vocab.languages import LANGUAGES

MAX_LISTED = 40
Payload = Mapping[str, Any]


# "@everyone", "@here", "@channel", "<@123>", "<@&456>", "<!channel>", "<#789>": a release title is
# upstream text, and Discord, Slack and Mattermost read these as pings (Discord even with plain content)
_MENTION = re.compile(r"(?<![\w.])@(?=(?:everyone|here|channel)\b)|<(?=[@!#])", re.IGNORECASE)


def inert(text: str) -> str:
    """``text`` with every mention broken by a zero-width space after its ``@`` or ``<``: shown, never a ping."""
    return _MENTION.sub(lambda found: found[0] + "\u200b", text)


@attrs.frozen
class Message:
    """Plain text (Apprise is told so, and escapes it for HTML and Markdown services), mentions made inert."""

    title: str = attrs.field(converter=inert)
    body: str = attrs.field(converter=inert)


def _language(code: object) -> str:
    return LANGUAGES.get(str(code), str(code)).capitalize() if code else "Other"


def _artists(release: Payload) -> str:
    return ", ".join(release.get("artists") or []) or "unknown artist"


def _named(release: Payload) -> str:
    return f"{release.get('title', '')} — {_artists(release)}"


def one(release: Payload) -> Message:
    details = " · ".join(str(x) for x in (_artists(release), _language(release.get("language")),
                                          release.get("release_date") or "undated") if x)
    body = details + (f"\n{release['url']}" if release.get("url") else "")
    return Message(f"New {release.get('kind') or 'release'}: {release.get('title', '')}", body)


def _count(releases: Sequence[Payload]) -> str:
    languages = {r.get("language") for r in releases}
    which = f"{_language(languages.pop())} " if len(languages) == 1 and None not in languages else ""
    return f"{len(releases)} new {which}release{'s' if len(releases) != 1 else ''}"


def _more(total: int) -> str:
    return f"\n… and {total - MAX_LISTED} more" if total > MAX_LISTED else ""


def folded(releases: Sequence[Payload]) -> Message:
    """Several releases in one message (a burst, or what quiet hours held)."""
    if len(releases) == 1:
        return one(releases[0])
    head = _count(releases)
    listed = "\n".join(f"• {_named(r)}" for r in releases[:MAX_LISTED])
    return Message(head, f"{head}:\n{listed}{_more(len(releases))}")


def digest(releases: Sequence[Payload], label: str) -> Message:
    """``label``: "Hourly digest", "Daily digest", "While quiet hours lasted"."""
    by_language: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for release in releases[:MAX_LISTED]:
        artist = (release.get("artists") or ["unknown artist"])[0]
        by_language[_language(release.get("language"))][artist].append(str(release.get("title", "")))
    lines: list[str] = []
    for language, artists in sorted(by_language.items(), key=lambda kv: (-sum(map(len, kv[1].values())), kv[0])):
        lines.append(f"{language} ({sum(map(len, artists.values()))})")
        lines.extend(f"  {artist}: {', '.join(titles)}" for artist, titles in sorted(artists.items()))
    return Message(f"{label}: {_count(releases)}", "\n".join(lines) + _more(len(releases)))
