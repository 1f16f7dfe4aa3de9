"""What a WebSocket client may send: ``{"subscribe": ["ml"], "source": ["jiosaavn"], "kind": ["album"],
"artist": [12], "last_event_id": 123}`` (all but ``subscribe`` optional; ``subscribe`` is the
languages, and ``language`` is read too), or ``{"subscribe": [], "watch": "<id>"}`` for a saved filter, parsed by the one filter parser into the same ``StreamRequest`` as an SSE query string,
with a bound on size and depth before any JSON parser sees it."""

from __future__ import annotations

from vibed.delivery.filters import BadStreamRequest, StreamRequest, parse_event_id
from vibed.vocab.json_depth import loads_shallow
from vibed.vocab.release_filter import parse_filter
from vibed.vocab.watch_ref import watch_of


def _listed(value: object) -> list[object]:
    return [] if value is None else value if isinstance(value, list) else [value]


MAX_MESSAGE_BYTES = 4096  # a subscription is a few dozen bytes; larger frames end the socket (1009)
MAX_DEPTH = 8  # brackets deep: a subscription needs 2


def parse_ws_message(text: str | bytes) -> StreamRequest:
    if isinstance(text, bytes):
        raise BadStreamRequest("bad_message", "send JSON text frames, not binary")
    try:  # the depth bounded before the parser's recursion sees it
        message = loads_shallow(text, max_depth=MAX_DEPTH)
    except ValueError as exc:
        raise BadStreamRequest("bad_message", f"not JSON: {exc}") from None
    if not isinstance(message, dict) or "subscribe" not in message:
        raise BadStreamRequest("bad_message", 'expected {"subscribe": ["ml"], "last_event_id": 123}')
    # ``subscribe`` is the languages; ``language`` (the key every other path reads) adds to them
    languages = [v for key in ("subscribe", "language") for v in _listed(message.get(key))]
    values = {"language": languages, "source": message.get("source"), "kind": message.get("kind"),
              "artist": message.get("artist")}
    watch = watch_of({**values, "watch": message.get("watch")})
    last = message.get("last_event_id")
    return StreamRequest(parse_filter(values), None if last is None else parse_event_id(last, "last_event_id"),
                         watch)
