"""A stored event as a push message, and the RFC 8030 headers it travels with.

The message is JSON the service worker (vibed/http/static/sw.js) shows as a notification:
``{"event_id", "title", "artists", "cover", "url", "language", "kind"}``.  Encrypted, a push
service takes at most 4096 bytes, so the plaintext is cut to ``MAX_PLAINTEXT``: the artists list
first, then the title, never the fields the notification needs to open the release.

    TTL      how long the push service keeps a message for a device that is offline (VIBED_PUSH_TTL)
    Urgency  ``normal``: a new release is worth waking a phone on power, not on a low battery
    Topic    one per release: a redelivery of the same release (at least once, after a crash)
             replaces the copy still waiting at the push service instead of showing twice
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from vibed.push.crypto import MAX_PLAINTEXT

URGENCY = "normal"


def payload(event_id: int, release: Mapping[str, Any]) -> bytes:
    """The message for one event, at most ``MAX_PLAINTEXT`` bytes."""
    body: dict[str, Any] = {
        "event_id": event_id, "title": str(release.get("title") or ""),
        "artists": [str(a) for a in release.get("artists") or []],
        "cover": release.get("image"), "url": release.get("url"),
        "language": release.get("language"), "kind": release.get("kind")}
    data = _dump(body)
    while len(data) > MAX_PLAINTEXT and len(body["artists"]) > 1:
        body["artists"] = body["artists"][: len(body["artists"]) // 2]
        data = _dump(body)
    if len(data) > MAX_PLAINTEXT:
        body["artists"] = [a[:100] for a in body["artists"]]
        body["title"] = body["title"][:200]
        for key in ("cover", "url"):  # a link too long for a push message is left out, not cut
            if len(_dump(body)) > MAX_PLAINTEXT:
                body[key] = None
        data = _dump(body)
    return data


def _dump(body: Mapping[str, Any]) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def topic(release_id: int | None, event_id: int) -> str:
    """RFC 8030 §5.4: at most 32 characters of the URL-safe base64 alphabet."""
    return f"r{release_id}" if release_id is not None else f"e{event_id}"


def headers(ttl: int, topic_: str, authorization: str, length: int) -> list[tuple[bytes, bytes]]:
    return [(b"ttl", str(ttl).encode()), (b"urgency", URGENCY.encode()), (b"topic", topic_.encode()),
            (b"content-encoding", b"aes128gcm"), (b"content-type", b"application/octet-stream"),
            (b"content-length", str(length).encode()), (b"authorization", authorization.encode())]
