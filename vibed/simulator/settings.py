"""How a simulator run behaves: its catalogue, its Spotify app, and the faults it injects."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import attrs

FAULT_KINDS = frozenset(
    {"status", "status_429", "status_5xx", "html", "error_json", "empty", "truncated", "slow", "spotify_removed",
     "hostile", "huge", "gzip_bomb", "drip", "mislabelled", "redirect", "gzip_lie", "token_expiry", "flood", "cookies", "crosslisted"}
)
ERROR_BODIES = ("status_failure", "error", "login_required", "empty_list")  # error_json variants
FAULT_SOURCES = frozenset({"jiosaavn", "spotify"})
# quirks a run may ask for; without them the simulator gives exactly what it is asked
QUIRKS = frozenset({"other_language"})  # other_language: about 1 item in 12 claims another language


def _one_of(allowed: frozenset[str] | tuple[str, ...]) -> Any:
    def check(instance: Any, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is not None and value not in allowed:
            raise ValueError(f"{attribute.name} must be one of {', '.join(sorted(allowed))}, not {value!r}")

    return check


@attrs.frozen
class Fault:
    """Break the next ``count`` matching upstream responses (None = until cleared).

    ``scope`` is a language code (JioSaavn) or a market (Spotify); None matches every scope.
    ``source`` limits it to one upstream; ``spotify_removed`` always means Spotify new-releases.
    """

    kind: str = attrs.field(validator=_one_of(FAULT_KINDS))
    scope: str | None = None
    source: str | None = attrs.field(default=None, validator=_one_of(FAULT_SOURCES))
    count: int | None = None
    status: int | None = None  # for "status" (required), "status_5xx" (503), "html" (200), "spotify_removed" (403)
    retry_after: float | str | None = None  # seconds, or a literal header value such as an HTTP date
    delay: float = 5.0  # for "slow": seconds before the (normal) answer; for "drip": seconds between chunks
    variant: str | None = attrs.field(default=None, validator=_one_of(ERROR_BODIES))  # for "error_json"
    reason: str | None = None  # for 429 bodies, e.g. "QUOTA_EXCEEDED"
    expires_in: Any = None  # for "token_expiry": what the token answer's expires_in says (any JSON value)

    def __attrs_post_init__(self) -> None:
        if self.kind == "status" and self.status is None:
            raise ValueError('a fault of kind "status" needs "status", e.g. {"kind": "status", "status": 403}')
        if self.count is not None and self.count < 1:
            raise ValueError(f"count must be at least 1 (or absent for unlimited), not {self.count}")

    @classmethod
    def from_json(cls, body: Mapping[str, Any]) -> Fault:
        """``{"language": "ml", "kind": "status_429", "retry_after": 30, "count": 2}``; ValueError if malformed."""
        fields = dict(body)
        scopes = [fields.pop(key) for key in ("language", "market", "scope") if key in fields]
        unknown = set(fields) - {f.name for f in attrs.fields(cls)}
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        try:
            return cls(scope=scopes[0] if scopes else None, **fields)
        except TypeError as exc:
            raise ValueError(f"bad fault: {exc}") from None


@attrs.frozen
class SimSettings:
    seed: int = 1  # same seed, same catalogue and quirks
    # digits before the index in album ids: "" keeps the ids tests and traces know; `vibed run --simulate`
    # gives each run its own (with its own seed), so a run never makes the ids a previous run stored
    id_prefix: str = attrs.field(default="", validator=attrs.validators.matches_re(r"[0-9]*"))
    seed_releases: int = attrs.field(default=120, validator=attrs.validators.ge(0))  # per language/market at start
    seed_days: int = attrs.field(default=180, validator=attrs.validators.ge(1))  # ...spread over these past days
    # new releases per language (and market) per minute of trio time; 0 = only POST /_sim/release
    new_per_minute: float = attrs.field(default=1.0, validator=attrs.validators.ge(0))
    today: dt.date | None = None  # release date of new releases; None = the real today
    spotify_client_id: str = "sim-client-id"
    spotify_client_secret: str = "sim-client-secret"
    token_expires_in: int = attrs.field(default=3600, validator=attrs.validators.ge(1))
    default_market: str = "IN"  # new-releases without ?country=
    cookie_overrides_language: bool = True  # like the site: an L cookie beats ?languages= (the cookie-jar trap)
    faults: tuple[Fault, ...] = ()
    trace: Any = None  # a vibed.simulator.trace.Trace: releases follow its schedule instead of new_per_minute
    quirks: frozenset[str] = attrs.field(default=frozenset(), converter=frozenset,
                                         validator=attrs.validators.deep_iterable(_one_of(QUIRKS)))

    @property
    def leaks_languages(self) -> bool:
        """The site mixes a few other-language items into a language's page (only when asked for)."""
        return "other_language" in self.quirks

    def release_day(self) -> dt.date:
        return self.today or dt.date.today()
