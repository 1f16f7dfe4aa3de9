"""Made-up but plausible releases, a pure function of (seed, scope, index): the simulator's truth.

A scope is a language code (``"ml"``, JioSaavn) or a market (``"IN"``, Spotify).  Which item is a song,
a playlist or (with ``leak``, the ``other_language`` quirk) in the wrong language follows its index, so
every page of 50 shows every quirk.  ``artists`` makes exactly the release asked for: those primary
artists, no one featured.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
import string

import attrs

from vibed.vocab.languages import LANGUAGES

ARTISTS = (
    ("4670197", "Stebin Ben"), ("455130", "Shreya Ghoshal"), ("459320", "Arijit Singh"),
    ("464932", "K. S. Chithra"), ("1274170", "Sid Sriram"), ("456269", "A.R. Rahman"),
    ("455663", "Vishal & Shekhar"), ("702452", "Sushin Shyam"), ("455125", "Anirudh Ravichander"),
    ("568707", "Justin Prabhakaran"), ("741999", "Jerry D'Souza"), ("881055", "Vaikom Vijayalakshmi"),
    ("1018413", "Dabzee"), ("594484", "Gopi Sundar"), ("703124", "Nikhita Gandhi"), ("455782", "Benny Dayal"),
)
WORDS = (
    "Adi Alaye", "Illuminati", "Nenjame", "Kaathirunnu", "Mazhathulli", "Pranayam", "Raatein", "Chaleya",
    "Hukum", "Kesariya", "Naa Ready", "Srivalli", "Jhoome Jo", "Aaj Ki Raat", "Nilave", "Kanmani",
)
MOVIES = ("Parasakthi", "Aavesham", "Manjummel Boys", "Premalu", "Kalki 2898 AD", "Leo", "Jawan", "Pushpa 2")
LABELS = ("Think Music", "Saregama", "T-Series", "Sony Music Entertainment India Pvt. Ltd.", "Muzik 247")
BASE62 = string.digits + string.ascii_letters


@attrs.frozen
class SimArtist:
    id: str
    name: str


@attrs.frozen
class SimRelease:
    scope: str
    index: int  # creation order within the scope; higher is newer
    id: str
    kind: str  # "album" | "song" | "playlist" (Spotify renders album | single | compilation)
    title: str
    language: str | None  # the code the item claims: usually the scope, sometimes not; None for markets
    primary: tuple[SimArtist, ...]
    featured: tuple[SimArtist, ...]
    others: tuple[SimArtist, ...]  # composers, listed with role "music"
    release_date: dt.date
    play_count: int | None
    explicit: bool
    album_id: str | None = None  # songs only
    album: str | None = None  # songs only
    label: str = ""

    @property
    def artists(self) -> tuple[SimArtist, ...]:
        return self.primary + self.featured + self.others


def is_market(scope: str) -> bool:
    return len(scope) == 2 and scope.isupper()


def make_release(
    seed: int, scope: str, index: int, *, released: dt.date,
    kind: str | None = None, title: str | None = None, language: str | None = None, leak: bool = False,
    artists: tuple[SimArtist, ...] | None = None, id_prefix: str = "",
) -> SimRelease:
    """``id_prefix``: digits put before the index in an album's id (see ``SimSettings.id_prefix``)."""
    rng = random.Random(f"{seed}:{scope}:{index}")
    kind = kind or ("playlist" if index % 10 == 9 else "song" if index % 3 == 1 else "album")
    people = [SimArtist(*pair) for pair in rng.sample(ARTISTS, 4)]
    n_primary = 1 + index % 2
    release_id = _release_id(rng, scope, index, kind, id_prefix)
    album_id = None
    if kind == "song":  # some songs claim their own id as album id (seen upstream)
        album_id = release_id if index % 6 == 4 else f"{_scope_number(scope)}{id_prefix}{900000 + index:06d}"
    return SimRelease(
        scope=scope,
        index=index,
        id=release_id,
        kind=kind,
        title=title or _title(rng, index),
        language=None if is_market(scope) else language or _claimed_language(scope, index, leak),
        primary=artists if artists else tuple(people[:n_primary]),
        featured=() if artists else tuple(people[n_primary:3]) if index % 3 == 0 else (),
        others=() if artists else (people[3],),
        release_date=released,
        play_count=None if index % 8 == 3 else rng.randrange(1_000, 90_000_000),
        explicit=index % 9 == 2,
        album_id=album_id,
        album=f"{rng.choice(MOVIES)} (Original Motion Picture Soundtrack)" if kind == "song" else None,
        label=rng.choice(LABELS),
    )


def _title(rng: random.Random, index: int) -> str:
    word, other, movie = rng.choice(WORDS), rng.choice(WORDS), rng.choice(MOVIES)
    return (f'{word} (From "{movie}")', f"{word} & {other}", f"{movie}'s {word}", word)[index % 4]


def artist_named(name: str) -> SimArtist:
    """A known artist by name, else a stable made-up id for the name (``POST /_sim/release``)."""
    for artist_id, known in ARTISTS:
        if known == name:
            return SimArtist(artist_id, known)
    return SimArtist(str(3_000_000 + int(hashlib.sha256(name.encode()).hexdigest()[:8], 16) % 6_000_000), name)


def _claimed_language(scope: str, index: int, leak: bool) -> str:
    if not leak or index % 12 != 5:
        return scope
    return "ta" if scope == "hi" else "hi"  # the site mixes a few other-language items in


def _scope_number(scope: str) -> int:
    codes = list(LANGUAGES)
    return 10 + (codes.index(scope) if scope in codes else len(codes))


def _release_id(rng: random.Random, scope: str, index: int, kind: str, id_prefix: str) -> str:
    if is_market(scope):
        return "".join(rng.choices(BASE62, k=22))
    if kind == "album":  # numeric like the site's album ids, unique per (language, index) and prefix
        return f"{_scope_number(scope)}{id_prefix}{index:06d}"
    return "".join(rng.choices(BASE62, k=8))
