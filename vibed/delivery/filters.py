"""What a stream client asked for: its ``ReleaseFilter`` and where it resumes, parsed from the query string.

Values may repeat (``?language=ml&language=hi``) or be comma-separated (``?language=ml,hi``); the
filter itself is ``vibed.vocab.release_filter``'s, the one every path reads.  Anything the daemon
cannot honour raises ``BadStreamRequest`` (the filter's ``BadFilter``), answered as 400 JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from urllib.parse import parse_qs

import attrs

from vibed.vocab.release_filter import KEYS, BadFilter, ReleaseFilter, parse_filter

BadStreamRequest = BadFilter  # one error type: a bad filter and a bad event id are both a 400 {error, detail}


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


@functools.lru_cache(maxsize=1024)  # a crowd asks with a handful of query strings: each is parsed once
def _parse_query(query: str) -> tuple[ReleaseFilter, str | None]:
    """The filter and the ``last_event_id`` parameter (unparsed) of a query string."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=128)
    except ValueError as exc:
        raise BadStreamRequest("bad_query_string", str(exc)) from None
    # other parameters are ignored: EventSource polyfills and caches add their own (``_=...``)
    stream_filter = parse_filter({key: params[key] for key in KEYS if key in params})
    return stream_filter, (params["last_event_id"][-1] if params.get("last_event_id") else None)


def parse_stream_request(query: str, headers: Mapping[str, str]) -> StreamRequest:
    """From the raw query string and the (lower-cased) request headers."""
    stream_filter, last_param = _parse_query(query)
    last: int | None = None
    if "last-event-id" in headers and headers["last-event-id"].strip():
        last = parse_event_id(headers["last-event-id"], "the Last-Event-ID header")
    elif last_param is not None:
        last = parse_event_id(last_param, "last_event_id")
    return StreamRequest(stream_filter, last)
