"""What the simulator was asked, so tests can prove calls were (or were not) made."""

from __future__ import annotations

from collections import Counter
from typing import Any

import attrs


@attrs.define(eq=False)
class Stats:
    jiosaavn: Counter[str] = attrs.field(factory=Counter)  # per language code served
    spotify_token: int = 0
    spotify_new_releases: Counter[str] = attrs.field(factory=Counter)  # per market
    cookie_overrides: int = 0  # JioSaavn requests whose L cookie contradicted ?languages=

    def snapshot(self) -> dict[str, Any]:
        total = sum(self.jiosaavn.values()) + self.spotify_token + sum(self.spotify_new_releases.values())
        return {
            "jiosaavn": dict(self.jiosaavn),
            "spotify_token": self.spotify_token,
            "spotify_new_releases": dict(self.spotify_new_releases),
            "cookie_overrides": self.cookie_overrides,
            "total": total,
        }

    def reset(self) -> None:
        self.jiosaavn.clear()
        self.spotify_new_releases.clear()
        self.spotify_token = 0
        self.cookie_overrides = 0
