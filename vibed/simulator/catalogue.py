"""The simulator's growing catalogue: per scope, seeded with older releases, then new ones over time.

Growth is computed from trio time when a scope is read, so there is no ticker task and the same seed
and the same clock give the same catalogue (``autojump_clock`` tests included).  ``by_artist`` is
the per-artist view (``artist.getArtistMoreAlbum``): an artist's albums across every language,
newest first.
"""

from __future__ import annotations

import datetime as dt
import math

import attrs

from vibed.simulator.generate import SimArtist, SimRelease, make_release
from vibed.simulator.settings import SimSettings


@attrs.define(eq=False)
class Catalogue:
    settings: SimSettings
    started: float  # trio time of the simulator's start
    _releases: dict[str, list[SimRelease]] = attrs.field(factory=dict)  # oldest first
    _grown: dict[str, int] = attrs.field(factory=dict)  # releases added by the clock, per scope
    _published: dict[tuple[str, int], float] = attrs.field(factory=dict)  # (scope, index) -> when it appeared

    def newest_first(self, scope: str, now: float) -> list[SimRelease]:
        return list(reversed(self._scope(scope, now)))

    def page(self, scope: str, now: float, page: int, size: int) -> tuple[list[SimRelease], int]:
        """Page ``page`` (1-based) of the newest-first list, and the total."""
        newest = self.newest_first(scope, now)
        start = (max(page, 1) - 1) * size
        return newest[start:start + size], len(newest)

    def by_artist(self, artist_id: str, now: float) -> list[SimRelease]:
        """The albums crediting ``artist_id`` (primary or featured), in every language, newest first."""
        scopes = set(self._releases)
        if self.settings.trace is not None:  # a followed artist's language may not have been read yet
            scopes |= {lang for artist, lang in self.settings.trace.followed_artists() if artist.id == artist_id}
        found = [rel for scope in sorted(scopes) if not scope.isupper() for rel in self._scope(scope, now)
                 if rel.kind == "album" and any(a.id == artist_id for a in rel.primary + rel.featured)]
        return sorted(found, key=lambda rel: (rel.release_date, self._published.get((rel.scope, rel.index), 0.0),
                                              rel.scope, rel.index), reverse=True)

    def add(
        self, scope: str, now: float, *, count: int = 1, kind: str | None = None, title: str | None = None,
        artists: tuple[SimArtist, ...] | None = None,
    ) -> list[SimRelease]:
        """Release ``count`` new items in ``scope`` now (``POST /_sim/release``); ``artists``: exactly those."""
        releases = self._scope(scope, now)
        added = []
        for _ in range(count):
            rel = self._make(scope, len(releases), kind=kind, title=title, artists=artists, language=scope)
            self._published[(scope, rel.index)] = now
            releases.append(rel)
            added.append(rel)
        return added

    def _scope(self, scope: str, now: float) -> list[SimRelease]:
        if scope not in self._releases:
            self._releases[scope] = self._seed(scope)
            self._grown[scope] = 0
        releases = self._releases[scope]
        trace = self.settings.trace
        if trace is not None:  # trace mode: the schedule's releases up to the trace clock's now
            due = trace.due(scope, trace.now())
        else:
            due = math.floor(max(0.0, now - self.started) * self.settings.new_per_minute / 60)
        while self._grown[scope] < due:
            if trace is None:
                rel, when = self._make(scope, len(releases)), now
            else:
                rel, when = trace_release(self.settings, scope, self._grown[scope])
            self._published[(scope, rel.index)] = when
            releases.append(rel)
            self._grown[scope] += 1
        return releases

    def _seed(self, scope: str) -> list[SimRelease]:
        """Older releases spread over ``seed_days`` before today, oldest first; in trace mode each followed
        artist has an older album in their language too (an artist's page is never empty)."""
        count, days, today = self.settings.seed_releases, self.settings.seed_days, self.settings.release_day()
        trace = self.settings.trace
        theirs = [] if trace is None else [a for a, lang in trace.followed_artists() if lang == scope]
        by_index = {count - 1 - 2 * j: artist for j, artist in enumerate(theirs)}
        return [
            self._make(scope, i, released=today - dt.timedelta(days=max(1, math.ceil(days * (count - i) / count))),
                       kind="album" if i in by_index else None, artists=(by_index[i],) if i in by_index else None,
                       language=scope if i in by_index else None)
            for i in range(count)
        ]

    def _make(
        self, scope: str, index: int, *, released: dt.date | None = None, kind: str | None = None,
        title: str | None = None, artists: tuple[SimArtist, ...] | None = None, language: str | None = None,
    ) -> SimRelease:
        released = released or self.settings.release_day()
        return make_release(self.settings.seed, scope, index, released=released, kind=kind, title=title,
                            artists=artists, language=language, leak=self.settings.leaks_languages,
                            id_prefix=self.settings.id_prefix)


def trace_release(settings: SimSettings, scope: str, k: int) -> tuple[SimRelease, float]:
    """The k-th release of ``scope`` in trace mode, and when it is published (trace epoch): anyone's, or a
    followed artist's album (exactly theirs, in their language)."""
    when, artist = settings.trace.at(scope, k)
    return make_release(settings.seed, scope, settings.seed_releases + k, released=settings.release_day(),
                        kind="album" if artist else None, artists=(artist,) if artist else None,
                        language=scope if artist else None, leak=settings.leaks_languages,
                        id_prefix=settings.id_prefix), when
