"""An Apprise URL as vibed keeps it: checked once, shown masked, and known by its secret pieces.

A target URL is a credential (a ntfy token or password, a Telegram bot token, a Discord webhook
token, a mail password).  ``parse_target_url`` asks Apprise whether it knows the URL, and keeps:

    service   Apprise's name for the scheme ("ntfy", "json", …)
    shown     the URL as Apprise prints it with ``privacy=True`` (passwords as ``****``, tokens as
              ``t...x``), with only the query parameters the user gave, credential-like ones and
              custom headers (``-X-Api-Key=…``) masked too: every answer and log uses this
    secrets   the pieces of the URL that ``shown`` hides, so a library's log line that quotes one
              can be scrubbed (``scrub``)
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import apprise
import attrs
from apprise.manager_plugins import NotificationManager

MAX_URL = 2048
HIDDEN = "****"
_SENSITIVE = re.compile(r"pass|pwd|secret|token|key|auth|cred|sig|user", re.IGNORECASE)
_PIECES = re.compile(r"[/:@?&=#,;+]+")
_quiet = threading.local()  # set while vibed itself asks Apprise about a URL: its log lines are dropped
EXAMPLES = "ntfy://, ntfys://, tgram://, discord://, mailto://, json://, form://"


class BadTargetUrl(ValueError):
    """``str()`` names the problem and the fix, and never quotes the URL's secrets."""


@attrs.frozen
class TargetUrl:
    url: str = attrs.field(repr=False)
    service: str
    shown: str
    secrets: tuple[str, ...] = attrs.field(repr=False)


def quiet_now() -> bool:
    return bool(getattr(_quiet, "on", False))


def parse_target_url(raw: str) -> TargetUrl:
    url = raw.strip()
    if not url or len(url) > MAX_URL:
        raise BadTargetUrl(f"url: required, at most {MAX_URL} characters, e.g. \"ntfys://ntfy.sh/my-topic\"")
    scheme, sep, _ = url.partition("://")
    if not sep or not scheme:
        raise BadTargetUrl(f"url: not an Apprise URL (scheme://…); use one of {EXAMPLES} "
                           "(https://github.com/caronc/apprise/wiki lists every service)")
    if scheme.lower() not in NotificationManager():  # type: ignore[no-untyped-call]
        raise BadTargetUrl(f"url: Apprise knows no scheme {scheme[:20]!r}; use one of {EXAMPLES} "
                           "(https://github.com/caronc/apprise/wiki lists every service)")
    plugin = _plugin(url)
    if plugin is None:
        raise BadTargetUrl(f"url: Apprise cannot use this {scheme.lower()}:// URL (a missing or malformed part); "
                           f"see https://github.com/caronc/apprise/wiki for the {scheme.lower()}:// form")
    shown = _shown(url, str(plugin.url(privacy=True)))
    return TargetUrl(url=url, service=scheme.lower(), shown=shown, secrets=tuple(_secret_pieces(url, shown)))


def destination(url: str) -> tuple[str, int | None] | None:
    """Where Apprise connects for ``url``, as its plugin reads the URL: (host, port), or None when the
    plugin chooses a fixed public place itself (ntfy's short form ``ntfy://my-topic`` posts to ntfy.sh, the
    topic is no host).  Raises ``BadTargetUrl`` when Apprise cannot use the URL."""
    plugin = _plugin(url)
    if plugin is None:
        raise BadTargetUrl("url: Apprise cannot use this URL (a missing or malformed part)")
    host = str(getattr(plugin, "host", None) or "").strip("[]")
    port = getattr(plugin, "port", None)
    return (host, port if isinstance(port, int) else None) if host else None


def _plugin(url: str) -> Any:
    """Apprise's plugin for ``url`` (None when it cannot use it), its log lines about the URL dropped."""
    _quiet.on = True
    try:
        return apprise.Apprise.instantiate(url)
    finally:
        _quiet.on = False


def _shown(raw: str, private: str) -> str:
    """Apprise's private form, with the user's own query parameters only, and those masked if credential-like."""
    given = {key for key, _ in parse_qsl(urlsplit(raw).query, keep_blank_values=True)}
    parts = urlsplit(private)
    query = "&".join(f"{key}={HIDDEN if _SENSITIVE.search(key) or key[:1] in '-+' else value}"
                     for key, value in parse_qsl(parts.query, keep_blank_values=True) if key in given)
    return urlunsplit(parts._replace(query=query))


def _secret_pieces(raw: str, shown: str) -> list[str]:
    """Pieces of ``raw`` (4 characters or more) that ``shown`` does not show: what a log must not show either."""
    return sorted({p for p in _PIECES.split(raw) if len(p) >= 4 and p not in shown}, key=len, reverse=True)


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, HIDDEN)
    return text
