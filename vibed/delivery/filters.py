"""What a stream client asked for: its filter and where it resumes, parsed from the query string.

Values may repeat (``?language=ml&language=hi``) or be comma-separated (``?language=ml,hi``).
Anything the daemon cannot honour raises ``BadStreamRequest``, answered as 400 JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import parse_qs

import attrs

from vibed.vocab.languages import LANGUAGES
from vibed.vocab.messages import KINDS, SOURCES, StoredEvent


class BadStreamRequest(ValueError):
    """A filter or event id that cannot be honoured; ``error``/``detail`` form the 400 body."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@attrs.frozen
class StreamFilter:
    """None = no restriction on that field.  Hashable, so the hub groups clients by filter."""

    languages: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    kinds: frozenset[str] | None = None

    def matches(self, event: StoredEvent) -> bool:
        return ((self.languages is None or event.language in self.languages)
                and (self.sources is None or event.source in self.sources)
                and (self.kinds is None or event.release_kind in self.kinds))


EVERYTHING = StreamFilter()


def _values(raw: Iterable[str]) -> list[str]:
    return [v.strip() for item in raw for v in item.split(",") if v.strip()]


def _restrict(raw: Sequence[str] | None, allowed: Iterable[str], what: str) -> frozenset[str] | None:
    if raw is None:
        return None
    values = frozenset(v.lower() for v in _values(raw))
    if not values:
        return None
    unknown = sorted(values - frozenset(allowed))
    if unknown:
        raise BadStreamRequest(f"unknown_{what}", f"{', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    return values


def build_filter(languages: Sequence[str] | None = None, sources: Sequence[str] | None = None,
                 kinds: Sequence[str] | None = None) -> StreamFilter:
    return StreamFilter(_restrict(languages, LANGUAGES, "language"), _restrict(sources, SOURCES, "source"),
                        _restrict(kinds, KINDS, "kind"))


def parse_event_id(raw: object, where: str) -> int:
    """A Last-Event-ID: a non-negative integer (bool and floats are refused)."""
    text = str(raw).strip()
    if isinstance(raw, bool) or not text.isdigit() or len(text) > 18:
        raise BadStreamRequest("bad_last_event_id", f"{where} must be a non-negative integer, got {text[:40]!r}")
    return int(text)


@attrs.frozen
class StreamRequest:
    filter: StreamFilter
    last_event_id: int | None  # None = live only, no replay


@functools.lru_cache(maxsize=1024)  # a crowd asks with a handful of query strings: each is parsed once
def _parse_query(query: str) -> tuple[StreamFilter, str | None]:
    """The filter and the ``last_event_id`` parameter (unparsed) of a query string."""
    try:
        params = parse_qs(query, keep_blank_values=True, strict_parsing=False, max_num_fields=64)
    except ValueError as exc:
        raise BadStreamRequest("bad_query_string", str(exc)) from None
    # other parameters are ignored: EventSource polyfills and caches add their own (``_=...``)
    stream_filter = build_filter(params.get("language"), params.get("source"), params.get("kind"))
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
