"""The one release filter: which languages, artists, sources and kinds a reader asked for.

Every path reads it here and nowhere else — the listing and the feeds, the SSE and WebSocket
streams (the hub's groups, the replay ring, the replayer), webhook subscriptions:

    parse_filter(values)    raw values by key → ``ReleaseFilter``; a query string's lists and a
                            JSON body's strings, lists and ids alike, comma-separated or repeated
    ReleaseFilter.matches   one event (its payload's language, source, kind and artist ids)
    filter_sql              the same filter as a WHERE fragment and its bound parameters

The limits and the 400 codes are the same on every path: ``unknown_language``, ``unknown_source``,
``unknown_kind`` (a value outside the closed set), ``bad_artist`` (not an artist id) and
``too_many_artists`` (over ``MAX_ARTISTS``), each raised as ``BadFilter``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import attrs

from vibed.vocab.languages import LANGUAGES
from vibed.vocab.messages import KINDS, SOURCES, StoredEvent

MAX_ARTISTS = 50  # artist ids in one filter
MAX_ARTIST_ID = 2**63 - 1
KEYS = ("language", "source", "kind", "artist")  # the parameter (or body field) of each part


class BadFilter(ValueError):
    """A filter value that cannot be honoured; ``error``/``detail`` form the 400 body."""

    def __init__(self, error: str, detail: str) -> None:
        super().__init__(f"{error}: {detail}")
        self.error = error
        self.detail = detail


@attrs.frozen
class ReleaseFilter:
    """None = no restriction on that field.  Hashable, so the hub groups clients by filter."""

    languages: frozenset[str] | None = None
    sources: frozenset[str] | None = None
    kinds: frozenset[str] | None = None
    artists: frozenset[int] | None = None

    def matches(self, event: StoredEvent) -> bool:
        return ((self.languages is None or event.language in self.languages)
                and (self.sources is None or event.source in self.sources)
                and (self.kinds is None or event.release_kind in self.kinds)
                and (self.artists is None or not self.artists.isdisjoint(event.artist_ids)))

    @classmethod
    def stored(cls, languages: Sequence[str] | None, sources: Sequence[str] | None, kinds: Sequence[str] | None,
               artists: Sequence[int] | None) -> ReleaseFilter:
        """From the four array columns a stored filter keeps (a webhook's; NULL = no restriction)."""
        return cls(None if languages is None else frozenset(languages),
                   None if sources is None else frozenset(sources), None if kinds is None else frozenset(kinds),
                   None if artists is None else frozenset(artists))

    def columns(self) -> tuple[list[str] | None, list[str] | None, list[str] | None, list[int] | None]:
        """The four array columns ``stored`` reads back, sorted."""
        return (None if self.languages is None else sorted(self.languages),
                None if self.sources is None else sorted(self.sources),
                None if self.kinds is None else sorted(self.kinds),
                None if self.artists is None else sorted(self.artists))

    def query_pairs(self) -> list[tuple[str, str]]:
        """The filter as canonical query-string pairs: the same filter always reads the same."""
        parts = ((self.languages, "language"), (self.sources, "source"), (self.kinds, "kind"))
        pairs = [(key, ",".join(sorted(values))) for values, key in parts if values]
        if self.artists:
            pairs.append(("artist", ",".join(str(a) for a in sorted(self.artists))))
        return pairs


EVERYTHING = ReleaseFilter()


def _texts(raw: Iterable[object], key: str) -> list[str]:
    values: list[str] = []
    for item in raw:
        if isinstance(item, bool) or not isinstance(item, str | int):
            raise BadFilter(f"bad_{key}", f"{key}: give strings{' or ids' if key == 'artist' else ''}, "
                            f'e.g. "{key}": ["a", "b"] or ?{key}=a,b')
        values.extend(v.strip() for v in str(item).split(",") if v.strip())
    return values


def _closed(raw: Sequence[object] | None, allowed: Iterable[str], key: str) -> frozenset[str] | None:
    if raw is None:
        return None
    values = frozenset(v.lower() for v in _texts(raw, key))
    if not values:
        return None
    unknown = sorted(values - frozenset(allowed))
    if unknown:
        raise BadFilter(f"unknown_{key}", f"{key}: {', '.join(u[:40] for u in unknown[:5])}; "
                        f"allowed: {', '.join(sorted(allowed))}")
    return values


def _artists(raw: Sequence[object] | None) -> frozenset[int] | None:
    if raw is None:
        return None
    texts = _texts(raw, "artist")
    if len(texts) > MAX_ARTISTS:
        raise BadFilter("too_many_artists", f"artist: at most {MAX_ARTISTS} artist ids, got {len(texts)}")
    for text in texts:
        if not text.isascii() or not text.isdigit() or len(text) > 19 or not 1 <= int(text) <= MAX_ARTIST_ID:
            raise BadFilter("bad_artist", f"artist: {text[:40]!r} is not an artist id (a positive whole number "
                            "from /api/artists)")
    return frozenset(int(t) for t in texts) or None


def _listed(value: object) -> Sequence[object] | None:
    if value is None:
        return None
    return value if isinstance(value, list | tuple) else [value]


def parse_filter(values: Mapping[str, object]) -> ReleaseFilter:
    """From raw values by key (``KEYS``): a query string's lists, or a JSON body's string, list or id."""
    return ReleaseFilter(_closed(_listed(values.get("language")), LANGUAGES, "language"),
                         _closed(_listed(values.get("source")), SOURCES, "source"),
                         _closed(_listed(values.get("kind")), KINDS, "kind"),
                         _artists(_listed(values.get("artist"))))


@attrs.frozen
class FilterColumns:
    """Where a table keeps what the filter reads: three text expressions and the release id."""

    language: str
    source: str
    kind: str
    release_id: str  # matched against release_artists for the artist part


RELEASE_COLUMNS = FilterColumns("language", "source", "kind", "id")  # the releases table
EVENT_COLUMNS = FilterColumns("payload->>'language'", "payload->>'source'", "payload->>'kind'", "release_id")


def filter_sql(flt: ReleaseFilter, columns: FilterColumns, args: list[object]) -> list[str]:
    """The filter as AND-ed conditions over ``columns``; their values are appended to ``args`` ($n)."""

    def bind(value: object, cast: str) -> str:
        args.append(value)
        return f"${len(args)}::{cast}"

    where: list[str] = []
    for values, column in ((flt.languages, columns.language), (flt.sources, columns.source),
                           (flt.kinds, columns.kind)):
        if values is not None and len(values) == 1:  # `=` keeps an index's order; ANY would not
            where.append(f"{column} = {bind(next(iter(values)), 'text')}")
        elif values is not None:
            where.append(f"{column} = ANY({bind(sorted(values), 'text[]')})")
    if flt.artists is not None:
        # one artist: `=` on a scalar, so a burst of such reads can share a round trip (vibed/store/batch_sql.py)
        wanted = (f"= {bind(next(iter(flt.artists)), 'bigint')}" if len(flt.artists) == 1
                  else f"= ANY({bind(sorted(flt.artists), 'bigint[]')})")
        where.append(f"{columns.release_id} IN (SELECT ra.release_id FROM release_artists ra "
                     f"WHERE ra.artist_id {wanted})")
    return where
