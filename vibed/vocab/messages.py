"""The daemon's whole vocabulary: every value that crosses a channel or a module boundary.

All records are frozen attrs classes; copy with ``attrs.evolve``.  Reading this one
file tells you what flows where:

    scheduler --FetchJob--> fetchers --Page|Failure--> writer --StoredEvent--> broadcaster
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Mapping
from typing import Any

import attrs
import trio

from vibed.vocab.text import clean_line

SOURCES = ("jiosaavn", "spotify")  # the catalogues vibed watches
KINDS = ("album", "song")  # what it keeps of them (playlists and anything new are skipped)

ScopeKey = tuple[str, str]  # (source, scope): one watched catalogue, e.g. ("jiosaavn", "ml"); per-scope state's key
ReleaseKey = tuple[str, str]  # (source, external_id): one release, the same across runs and instances


ARTIST_SCOPE = "artist:"  # a followed artist's own page, polled like a language: ("jiosaavn", "artist:4670197")


def artist_scope(upstream_id: str) -> str:
    return ARTIST_SCOPE + upstream_id.strip()


def artist_of(scope: str) -> str | None:
    """The upstream artist id of an artist scope; None for a language (or market)."""
    return scope[len(ARTIST_SCOPE):] if scope.startswith(ARTIST_SCOPE) else None


def scope_label(key: ScopeKey) -> str:
    """A scope key as text (logs, advisory-lock names): ``"jiosaavn:ml"``."""
    return f"{key[0]}:{key[1]}"


@attrs.frozen
class Artist:
    id: str
    name: str


@attrs.frozen
class Release:
    """One catalogue item (album or song), normalised from any source."""

    source: str  # "jiosaavn" | "spotify"
    external_id: str  # the upstream's id, unique per source
    kind: str  # "album" | "song"
    title: str
    artists: tuple[Artist, ...] = ()  # primary artists first, no duplicates
    album: str | None = None
    language: str | None = None  # our code ("ml"); None when the source has no language
    release_date: dt.date | None = None  # only at day precision, never far in the future
    year: int | None = None
    period: str | None = None  # "2026-03" or "2026" when upstream dates it only to a month or a year
    image: str | None = None  # https, largest variant
    url: str | None = None
    play_count: int | None = None
    explicit: bool | None = None
    # the upstream item as received; excluded from eq/hash because dicts are unhashable
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, hash=False, repr=False)


@attrs.frozen
class Page:
    """A page of new releases as a source returned it (already normalised and filtered)."""

    source: str
    scope: str  # language code for JioSaavn, market for Spotify
    page: int  # 1-based
    releases: tuple[Release, ...]
    last_page: bool
    total: int | None = None
    received: int = 0  # items upstream sent before filtering (mismatched language, playlists)


class FailureKind(enum.Enum):
    RATE_LIMITED = "rate_limited"  # 429, honour retry_after
    UPSTREAM_ERROR = "upstream_error"  # 5xx, error JSON with HTTP 200, truncated body
    BLOCKED = "blocked"  # HTML instead of JSON, 403 from JioSaavn, suspicious emptiness
    GONE = "gone"  # Spotify's 2026 removal: stop calling until restart or reload
    TIMEOUT = "timeout"  # connect/read timeout, a reset, no answer in time
    DNS = "dns"  # the upstream's name does not resolve
    CONNECT = "connect"  # connection refused or unreachable
    AUTH = "auth"  # credentials refused (Spotify token endpoint)


@attrs.frozen
class Failure:
    """A page that could not be had, as a value (sources never raise to the actors)."""

    source: str
    scope: str
    page: int
    kind: FailureKind
    # one human line, never containing secrets; cleaned here, since it quotes upstream text (an error
    # message, a 429's reason) into logs, health and the database: a lone surrogate there crashed a fetcher
    detail: str = attrs.field(converter=clean_line)
    retry_after: float | None = None  # seconds, when upstream said so (finite, ≤ 24 h)
    status: int | None = None  # HTTP status when there was one


@attrs.frozen
class Poke:
    """Ask the scheduler for a round now (SIGUSR1, POST /api/new-releases/fetch)."""

    origin: str  # "signal" | "http" | "cron"
    languages: tuple[str, ...] | None = None  # None = all configured
    sources: tuple[str, ...] | None = None
    round_id: str | None = None


@attrs.frozen
class FetchJob:
    """Fetch one (source, scope) run: pages 1.. until nothing new, last_page or the cap."""

    round_id: str
    slot: str  # the scheduled time for cron rounds (claimed once across daemons), else the round id
    source: str
    scope: str
    max_pages: int
    results: trio.MemorySendChannel[JobDone] | None = attrs.field(default=None, eq=False, repr=False)
    min_gap_s: float = 0.0  # > 0: an adaptive poll, claimed unless polled this recently (wall seconds)


@attrs.frozen
class JobDone:
    """What a fetcher's job came to, sent forward on the job's ``results`` channel (never blocking)."""

    round_id: str
    source: str
    scope: str
    requests: int = 0  # pages asked of upstream
    first_seen: int = 0  # releases the database did not have
    events: int = 0
    errors: int = 0


@attrs.frozen
class WriteResult:
    """The writer's answer to one page: how many of its releases the database did not have."""

    first_seen: int
    events: int
    error: str | None = None  # the batch failed to commit; nothing of it was stored


@attrs.frozen
class WriteRequest:
    """A page for the writer, with the channel its ``WriteResult`` comes back on."""

    page: Page
    reply: Any = attrs.field(eq=False, repr=False)  # trio.MemorySendChannel[WriteResult], buffer 1


@attrs.frozen
class StoredEvent:
    """A new release after commit; ``id`` is ``events.id`` and the SSE event id."""

    id: int
    kind: str  # "new_release"
    release_id: int
    source: str
    language: str | None
    release_kind: str  # "album" | "song"
    payload: Mapping[str, Any] = attrs.field(eq=False, hash=False)  # the API representation
    created_at: dt.datetime | None = None

    @property
    def artist_ids(self) -> tuple[int, ...]:
        """The release's artists in the artist index (the payload's ``artist_ids``; none before the index)."""
        return tuple(self.payload.get("artist_ids") or ())


@attrs.frozen
class WebhookDelivery:
    """One outbox row claimed for an attempt: what to send, where, signed with what."""

    id: int  # webhook_outbox.id; the webhook-id header is msg_<id>, the same on every attempt
    webhook_id: int
    event_id: int
    attempt: int  # 1 for the first attempt
    url: str
    secret: str = attrs.field(repr=False)  # whsec_<base64>
    format: str  # "generic" | "discord" | "slack"
    payload: Mapping[str, Any] = attrs.field(eq=False, hash=False)  # the event's release_json
    created_at: dt.datetime | None = None
