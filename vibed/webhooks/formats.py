"""A stored event as a webhook body: the generic JSON, or a Discord or Slack message.

generic   ``{"type": "release.new", "timestamp", "data": <the list API's release>}`` (the
          shape the Standard Webhooks specification recommends)
discord   an execute-webhook body: one line of text and an embed with the cover; mentions
          are disabled, so a title like "@everyone" pings nobody
slack     an incoming-webhook body: fallback ``text`` plus blocks; every text Slack parses
          (the fallback and the mrkdwn) has ``& < >`` escaped as Slack requires, so a title
          like ``<!channel>`` or ``<@U123>`` mentions nobody, and a link's URL has ``< > |``
          percent-encoded, so it cannot end the link or rename it

Bodies are deterministic in the event, so every attempt of a delivery sends the same bytes.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any

from vibed.vocab.clock import utc_iso

FORMATS = ("generic", "discord", "slack")
EVENT_TYPE = "release.new"


def _line(release: Mapping[str, Any]) -> tuple[str, str, str]:
    artists = ", ".join(release.get("artists") or []) or "unknown artist"
    details = " · ".join(str(x) for x in (release.get("language"), release.get("kind"),
                                          release.get("release_date") or "undated", release.get("source")) if x)
    return str(release.get("title", "")), artists, details


def generic(release: Mapping[str, Any], created_at: dt.datetime | None) -> dict[str, Any]:
    return {"type": EVENT_TYPE, "timestamp": utc_iso(created_at), "data": dict(release)}


def discord(release: Mapping[str, Any], created_at: dt.datetime | None) -> dict[str, Any]:
    title, artists, details = _line(release)
    embed: dict[str, Any] = {"title": title[:256], "description": f"{artists}\n{details}"[:4096],
                             "footer": {"text": "vibed"}}
    if release.get("url"):
        embed["url"] = release["url"]
    if release.get("image"):
        embed["thumbnail"] = {"url": release["image"]}
    if created_at is not None:
        embed["timestamp"] = utc_iso(created_at)
    return {"content": f"New {release.get('kind', 'release')}: {title} — {artists}"[:2000], "embeds": [embed],
            "allowed_mentions": {"parse": []}}


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_url(url: str) -> str:
    """A URL inside ``<url|label>``: the same address, with nothing that ends or splits the link."""
    return url.replace("&", "&amp;").replace("<", "%3C").replace(">", "%3E").replace("|", "%7C")


SLACK_TEXT_MAX = 3000  # characters of one mrkdwn text object: Slack refuses the whole message past it
_CUT_ENTITY = re.compile(r"&[a-z]{0,3}$")  # an escape the cut went through ("&am")


def _slack_cut(text: str, limit: int = SLACK_TEXT_MAX) -> str:
    """Escaped ``text`` within ``limit`` characters: a title of 1,000 characters and a hundred artists do
    not fit a section, and a refused message would be retried until it is dead."""
    return text if len(text) <= limit else _CUT_ENTITY.sub("", text[:limit - 1]) + "…"


def slack(release: Mapping[str, Any], created_at: dt.datetime | None) -> dict[str, Any]:
    title, artists, details = _line(release)
    name = _slack_escape(title)
    heading = f"*<{_slack_url(str(release['url']))}|{name}>*" if release.get("url") else f"*{name}*"
    if len(heading) > SLACK_TEXT_MAX // 2:  # a link this long is left out rather than cut in two
        heading = f"*{_slack_cut(name, SLACK_TEXT_MAX // 2 - 2)}*"
    section: dict[str, Any] = {"type": "section", "text": {
        "type": "mrkdwn", "text": _slack_cut(f"{heading}\n{_slack_escape(artists)}")}}
    if release.get("image"):
        section["accessory"] = {"type": "image", "image_url": release["image"], "alt_text": title[:2000] or "cover"}
    return {"text": _slack_cut(_slack_escape(f"New {release.get('kind', 'release')}: {title} — {artists}")),
            "blocks": [section, {"type": "context", "elements": [{"type": "mrkdwn",
                                                                  "text": _slack_cut(_slack_escape(details))}]}]}


_BUILDERS = {"generic": generic, "discord": discord, "slack": slack}


def body(format: str, release: Mapping[str, Any], created_at: dt.datetime | None) -> bytes:
    return json.dumps(_BUILDERS[format](release, created_at), ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")
