"""What a stream client asked for: its ``ReleaseFilter`` and where it resumes, parsed from the query string.

Values may repeat (``?language=ml&language=hi``) or be comma-separated (``?language=ml,hi``); the
filter itself is ``vibed.vocab.release_filter``'s, the one every path reads.  Anything the daemon
cannot honour raises ``BadStreamRequest`` (the filter's ``BadFilter``), answered as 400 JSON.

``?watch=<id>`` names a saved filter instead (``vibed.vocab.watch_ref``): the request carries the id,
and ``resolved`` puts the watch's filter in place before the stream opens, and keeps the id in
``watched``: the hub holds the stream under it, so an edit or a deletion of the watch reaches the open
stream (``vibed/delivery/watch_changes.py``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from urllib.parse import parse_qs

import attrs
import trio

from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter, parse_filter
from vibed.vocab.watch_ref import WATCH_KEY, UnknownWatch, watch_of

BadStreamRequest = BadFilter  # one error type: a bad filter and a bad event id are both a 400 {error, detail}
WatchResolver = Callable[[str], Awaitable[ReleaseFilter | None]]  # a watch id -> its filter now (None: no watch)
# watch ids -> the filters of those that exist now, in one read (a deleted one is absent)
WatchesResolver = Callable[[Sequence[str]], Awaitable[Mapping[str, ReleaseFilter]]]


async def no_watches(watch_id: str) -> ReleaseFilter | None:
    """The resolver of a daemon without a database (tests of the hub alone): no watch exists."""
    return None


async def no_watches_of(watch_ids: Sequence[str]) -> Mapping[str, ReleaseFilter]:
    """``no_watches`` for many at once."""
    return {}


def parse_event_id(raw: object, where: str) -> int:
    """A Last-Event-ID: a non-negative integer (bool and floats are refused)."""
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or len(text) > 18:
        raise BadStreamRequest("bad_last_event_id", f"{where} must be a non-negative integer, got {text[:40]!r}")
    return int(text)


@attrs.frozen
class StreamRequest:
    filter: ReleaseFilter
    last_event_id: int | None  # None = live only, no replay
    watch: str | None = None  # a watch id not yet resolved (``resolved``): ``filter`` is not it yet
    watched: str | None = None  # the watch ``filter`` was resolved from: its changes reach the stream
    asked_at: float = 0.0  # when that watch was asked for (trio clock): a change heard later may be missing


async def resolved(request: StreamRequest, resolve: WatchResolver) -> StreamRequest:
    """The request with its watch's filter in place (itself when it names none); ``UnknownWatch``."""
    if request.watch is None:
        return request
    asked_at = trio.current_time()
    found = await resolve(request.watch)
    if found is None:
        raise UnknownWatch(request.watch)
    return attrs.evolve(request, filter=found, watch=None, watched=request.watch, asked_at=asked_at)


@functools.lru_cache(maxsize=1024)  # a crowd asks with a handful of query strings: each is parsed once
def _parse_query(query: str) -> tuple[ReleaseFilter, str | None, str | None]:
    """The filter, the ``last_event_id`` parameter (unparsed) and the watch id of a query string."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=128)
    except ValueError as exc:
        raise BadStreamRequest("bad_query_string", str(exc)) from None
    # other parameters are ignored: EventSource polyfills and caches add their own (``_=...``)
    watch = watch_of({key: params[key] for key in (*KEYS, WATCH_KEY) if key in params})
    stream_filter = parse_filter({key: params[key] for key in KEYS if key in params})
    return stream_filter, (params["last_event_id"][-1] if params.get("last_event_id") else None), watch


def parse_stream_request(query: str, headers: Mapping[str, str]) -> StreamRequest:
    """From the raw query string and the (lower-cased) request headers."""
    stream_filter, last_param, watch = _parse_query(query)
    last: int | None = None
    if "last-event-id" in headers and headers["last-event-id"].strip():
        last = parse_event_id(headers["last-event-id"], "the Last-Event-ID header")
    elif last_param is not None:
        last = parse_event_id(last_param, "last_event_id")
    return StreamRequest(stream_filter, last, watch)
