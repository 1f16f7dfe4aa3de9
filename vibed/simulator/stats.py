"""What the simulator was asked, so tests can prove calls were (or were not) made."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs

LOG_KEPT = 20_000  # the newest JioSaavn requests, with their times


@attrs.define(eq=False)
class Stats:
    jiosaavn: Counter[str] = attrs.field(factory=Counter)  # per language code served
    spotify_token: int = 0
    spotify_new_releases: Counter[str] = attrs.field(factory=Counter)  # per market
    cookie_overrides: int = 0  # JioSaavn requests whose L cookie contradicted ?languages=
    log: list[tuple[float, str, int]] = attrs.field(factory=list)  # JioSaavn: (trio time, language, page)

    def jiosaavn_request(self, scope: str, page: int, now: float) -> None:
        self.jiosaavn[scope] += 1
        self.log.append((now, scope, page))
        del self.log[:-LOG_KEPT]

    def snapshot(self) -> dict[str, Any]:
        total = sum(self.jiosaavn.values()) + self.spotify_token + sum(self.spotify_new_releases.values())
        return {
            "jiosaavn": dict(self.jiosaavn),
            "spotify_token": self.spotify_token,
            "spotify_new_releases": dict(self.spotify_new_releases),
            "cookie_overrides": self.cookie_overrides,
            "total": total,
            "log": [list(entry) for entry in self.log],
        }

    def reset(self) -> None:
        self.jiosaavn.clear()
        self.spotify_new_releases.clear()
        self.spotify_token = 0
        self.cookie_overrides = 0
        self.log.clear()
