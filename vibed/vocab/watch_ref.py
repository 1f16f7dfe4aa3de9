"""``watch=<id>``: a saved filter named instead of spelt out, read the same way on every path.

Every path that takes a filter (the listing and the feeds, the SSE and WebSocket streams, webhook
subscriptions, notification targets) takes ``watch`` in its place:

    watch_of(values)    the watch id of raw values by key (a query string's lists or a JSON body's
                        value), or None; a ``BadFilter`` when it is malformed, given twice, or given
                        beside ``language``/``source``/``kind``/``artist`` (a watch is the whole filter:
                        to narrow it, edit the watch)
    alone(values)       that last check by itself, for a path whose URL names the watch

The id names a capability (128 random bits, see ``vibed.store.watches``): reading releases through
it needs nothing else.  A path resolves the id when the request comes in; a stream then holds that
filter until the watch's next edit or deletion reaches it (``vibed/delivery/watch_changes.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from vibed.vocab.release_filter import KEYS, BadFilter

WATCH_KEY = "watch"
_ID = re.compile(r"[A-Za-z0-9_-]{22}")


class UnknownWatch(LookupError):
    """A well-formed watch id that names no watch (deleted, or never made): a 404."""

    def __init__(self, watch_id: str) -> None:
        super().__init__(f"no watch with id {watch_id}")
        self.detail = f"no watch with id {watch_id} (deleted, or never made)"


def is_watch_id(text: str) -> bool:
    return _ID.fullmatch(text) is not None


def watch_of(values: Mapping[str, object]) -> str | None:
    raw = values.get(WATCH_KEY)
    if raw is None:
        return None
    items = raw if isinstance(raw, list | tuple) else [raw]
    if len(items) != 1 or not isinstance(items[0], str):
        raise BadFilter("bad_watch", "watch: give one watch id, e.g. ?watch=<id from POST /api/watches>")
    text = items[0].strip()
    if not is_watch_id(text):
        raise BadFilter("bad_watch", f"watch: {text[:40]!r} is not a watch id (22 letters, digits, - or _)")
    alone(values)
    return text


def alone(values: Mapping[str, object]) -> None:
    """A ``BadFilter`` when a filter key is given beside a watch."""
    beside = [key for key in KEYS if values.get(key) not in (None, [], "")]
    if beside:
        raise BadFilter("watch_and_filter", f"watch: a watch is the whole filter, so {beside[0]} cannot be given "
                        "beside it; change the watch (PATCH /api/watches/{id}) to narrow it")
