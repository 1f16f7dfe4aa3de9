"""Trace mode: a seeded release schedule replayed on a sped-up clock (``SimSettings.trace``).

    trace = Trace(seed=1, start=<trace epoch>, wall0=<wall epoch>, speed=480, languages=("ml", "hi", "ta"))
    trace.schedule(hours=24)      # [(trace epoch, language), …]: the same for the same seed

Releases come as the catalogues do: a drop at midnight IST (bigger on Fridays, when the film
industry releases), a busy evening, a quiet afternoon (13:00-18:00 IST), a trickle otherwise.  Each
minute's count is Poisson around that profile, so drops arrive in clumps.  The simulator publishes
the k-th scheduled release of a language as catalogue index ``seed_releases + k``, once the trace
clock (``trace0 + (wall - wall0) × speed``, wall-clock based so other processes can share it) has
passed its time.  Pages stay shuffled within themselves, as in every simulator answer.

With ``followed`` artists, each of them also publishes albums on the same daily profile
(``artist_per_day`` on an ordinary day): the first ``outside`` in languages the trace does not track
(found only through the per-artist call), the rest in its languages.  Their albums are part of their
language's schedule, so the k-th release of a language is either anyone's or a followed artist's.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import time

import attrs

from vibed.simulator.generate import SimArtist
from vibed.vocab.languages import LANGUAGES

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))
LANGUAGE_WEIGHT = {"hi": 1.6, "ml": 1.0, "ta": 1.2, "te": 1.1, "pa": 0.9, "kn": 0.6, "bn": 0.5, "mr": 0.5,
                   "gu": 0.4, "bho": 0.7, "en": 0.8}


def _profile(when: dt.datetime) -> float:
    """Share of a day's releases per minute at ``when`` (IST), before the Friday factor."""
    hour = when.hour + when.minute / 60
    if hour < 0.5:
        return 0.40 / 30  # midnight drop: 40 % of the day in 30 minutes
    if 13 <= hour < 18:
        return 0.01 / 300  # quiet afternoon
    if 18 <= hour < 23:
        return 0.25 / 300  # busy evening
    return 0.34 / (24 * 60 - 30 - 600)  # the rest of the day


@attrs.frozen
class Trace:
    seed: int = 1
    start: float = 0.0  # trace epoch the schedule begins at
    wall0: float = 0.0  # wall epoch at which the trace clock shows ``start``
    speed: float = attrs.field(default=20.0, validator=attrs.validators.gt(0))
    per_day: float = 40.0  # releases a language of weight 1 publishes on an ordinary day
    languages: tuple[str, ...] = ("ml", "hi", "ta")
    hours: float = 24.0
    followed: int = 0  # artists people follow, publishing on the same profile
    outside: int = 0  # of them, those releasing only in languages the trace does not track
    artist_per_day: float = 1.0  # albums a followed artist publishes on an ordinary day

    def now(self) -> float:
        return self.start + (time.time() - self.wall0) * self.speed

    def schedule(self) -> list[tuple[float, str]]:
        """Every release of the trace, oldest first: (trace epoch, language)."""
        out: list[tuple[float, str]] = []
        for lang in self.languages:
            rng = random.Random(f"{self.seed}:trace:{lang}")
            weight = LANGUAGE_WEIGHT.get(lang, 0.5) * self.per_day
            for minute in range(int(self.hours * 60)):
                t = self.start + minute * 60
                when = dt.datetime.fromtimestamp(t, IST)
                friday = 2.0 if when.weekday() == 4 else 1.0
                count = _poisson(rng, weight * friday * _profile(when))
                out.extend((t + rng.uniform(0, 60), lang) for _ in range(count))
        return sorted(out)

    def followed_artists(self) -> list[tuple[SimArtist, str]]:
        """Each followed artist and the language they release in; the first ``outside`` are outside ours."""
        others = [code for code in LANGUAGES if code not in self.languages]
        out = []
        for k in range(self.followed):
            language = others[k % len(others)] if k < self.outside else self.languages[k % len(self.languages)]
            name = f"{_FIRST[k % 10]} {_LAST[(k // 10 + k) % 10]}"  # distinct for k < 100
            out.append((SimArtist(str(8_100_000 + k), name), language))
        return out

    def artist_schedule(self) -> list[tuple[float, str, SimArtist]]:
        """Every followed artist's album of the trace, oldest first: (trace epoch, language, artist)."""
        out: list[tuple[float, str, SimArtist]] = []
        for artist, language in self.followed_artists():
            rng = random.Random(f"{self.seed}:artist:{artist.id}")
            for minute in range(int(self.hours * 60)):
                t = self.start + minute * 60
                when = dt.datetime.fromtimestamp(t, IST)
                friday = 2.0 if when.weekday() == 4 else 1.0
                count = _poisson(rng, self.artist_per_day * friday * _profile(when))
                out.extend((t + rng.uniform(0, 60), language, artist) for _ in range(count))
        return sorted(out, key=lambda entry: entry[0])

    def published(self) -> dict[str, list[tuple[float, SimArtist | None]]]:
        """Per language, every release in publishing order: (trace epoch, the followed artist or None)."""
        cached = _CACHE.get(self)
        if cached is None:
            merged: list[tuple[float, str, SimArtist | None]] = [(t, lang, None) for t, lang in self.schedule()]
            merged += self.artist_schedule()
            cached = {}
            for t, lang, artist in sorted(merged, key=lambda entry: entry[0]):
                cached.setdefault(lang, []).append((t, artist))
            _CACHE[self] = cached
        return cached

    def at(self, language: str, k: int) -> tuple[float, SimArtist | None]:
        """When ``language``'s k-th release is published, and its followed artist (None: anyone's)."""
        return self.published()[language][k]

    def due(self, language: str, now_trace: float) -> int:
        """How many of ``language``'s releases the trace has published by ``now_trace``."""
        times = self._times().get(language, [])
        lo, hi = 0, len(times)
        while lo < hi:
            mid = (lo + hi) // 2
            if times[mid] <= now_trace:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _times(self) -> dict[str, list[float]]:
        times = _TIMES.get(self)
        if times is None:
            times = _TIMES[self] = {lang: [t for t, _ in entries] for lang, entries in self.published().items()}
        return times


_CACHE: dict[Trace, dict[str, list[tuple[float, SimArtist | None]]]] = {}
_TIMES: dict[Trace, dict[str, list[float]]] = {}
_FIRST = ("Anu", "Devika", "Karthik", "Meera", "Ravi", "Sana", "Vijay", "Lakshmi", "Arjun", "Nila")
_LAST = ("Menon", "Sharma", "Iyer", "Reddy", "Bose", "Patil", "Gill", "Rao", "Nair", "Das")


def _poisson(rng: random.Random, mean: float) -> int:
    if mean <= 0:
        return 0
    limit, k, p = math.exp(-mean), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1
