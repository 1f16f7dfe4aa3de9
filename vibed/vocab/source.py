"""What the fetchers need from an upstream catalogue: pages of new releases, as values."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from vibed.vocab.messages import Failure, Page


class Source(Protocol):
    """One upstream catalogue.

    ``fetch_page`` never raises for upstream trouble: network errors, bad bodies and refusals come back
    as a typed ``Failure`` so the fetchers can back off and report without a traceback.
    """

    @property
    def name(self) -> str:
        """``"jiosaavn"`` | ``"spotify"``: Release.source and the job key."""
        ...

    @property
    def service(self) -> str:
        """The token bucket (row in rate_limit_tokens) this source spends from."""
        ...

    @property
    def available(self) -> bool:
        """False once upstream said the endpoint is gone for us; no calls are made until ``reset()``."""
        ...

    def scopes(self, languages: Sequence[str]) -> list[str]:
        """The job keys of one round: language codes for JioSaavn, markets for Spotify."""
        ...

    async def fetch_page(self, scope: str, page: int) -> Page | Failure:
        """Page ``page`` (1-based) of the newest releases in ``scope``."""
        ...

    def reset(self) -> None:
        """Forget "gone" (on config reload)."""
        ...
