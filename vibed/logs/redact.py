"""URLs as they may be shown: a password in the authority or a credential in the query is ``***``.

``postgresql://u:pw@db/x?sslpassword=k&host=/run`` → ``postgresql://u:***@db/x?sslpassword=***&host=/run``.
``url_secrets`` lists the hidden values, so the log masker can hide them anywhere else too.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

# query keys that carry credentials (libpq's password/sslpassword, tokens, API keys, signatures)
_SENSITIVE = re.compile(r"pass|pwd|secret|token|key|auth|cred|sig", re.IGNORECASE)
HIDDEN = "***"


def redact_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:
        return HIDDEN  # not even parseable: show nothing of it
    netloc = parts.netloc
    if password is not None:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{HIDDEN}@{host}"
    query = "&".join(
        f"{quote(key, safe='')}={HIDDEN if _SENSITIVE.search(key) else quote(value, safe='/:')}"
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
    )
    return urlunsplit(parts._replace(netloc=netloc, query=query))


def url_secrets(url: str) -> list[str]:
    """The password and the sensitive query values of ``url`` (raw and as written)."""
    try:
        parts = urlsplit(url)
        found = [parts.password] if parts.password else []
    except ValueError:
        return []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if _SENSITIVE.search(key) and value:
            found.append(value)
    for chunk in parts.query.split("&"):
        key, _, raw = chunk.partition("=")
        if _SENSITIVE.search(key) and raw:
            found.append(raw)
    return found


# a URL in prose: trailing punctuation (": refused", "…, then") is the sentence's, not the URL's
_URL_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>:,.;)]")


def redact_urls_in(text: str) -> str:
    """Every URL inside free text, redacted (error messages quote URLs)."""
    return _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)


def strip_urls(text: str) -> str:
    """Free text with every URL replaced by ``<url>`` (public answers name no backend)."""
    return _URL_IN_TEXT.sub("<url>", text)
