"""What the fetchers know about each (source, scope), for /api/health and `vibed status`.

In memory and per instance; the shared, durable part (back-off, failures) is in ``fetch_state``.
Repeated empty first pages are flagged as suspect: since mid-2026 JioSaavn answers some
networks with silently empty results instead of an error.
"""

from __future__ import annotations

import datetime as dt
import time

import attrs

from vibed.health import ScopeReport, ScopeState, without_addresses
from vibed.vocab.clock import utc_iso
from vibed.vocab.messages import Failure, FailureKind, Page, ScopeKey

SUSPECT_AFTER = 3  # empty first pages in a row


@attrs.define
class ScopeRecord:
    last_success: float | None = None  # wall-clock seconds
    last_error: str | None = None
    last_kind: FailureKind | None = None
    consecutive_failures: int = 0
    backing_off_until: float | None = None
    empty_streak: int = 0
    rate_limited_until: float | None = None
    pages: int = 0
    releases_seen: int = 0


@attrs.define(eq=False)
class ScopeHealth:
    records: dict[ScopeKey, ScopeRecord] = attrs.field(factory=dict)

    def _get(self, source: str, scope: str) -> ScopeRecord:
        return self.records.setdefault((source, scope), ScopeRecord())

    def succeeded(self, source: str, scope: str, page: Page) -> None:
        rec = self._get(source, scope)
        rec.last_success = time.time()
        rec.consecutive_failures = 0
        rec.last_kind = None
        rec.backing_off_until = None
        rec.pages += 1
        rec.releases_seen += len(page.releases)
        if page.page == 1:
            rec.empty_streak = rec.empty_streak + 1 if page.received == 0 else 0

    def failures(self, source: str, scope: str) -> int:
        return self._get(source, scope).consecutive_failures

    def suspect(self, source: str, scope: str) -> bool:
        """Page 1 came back empty ``SUSPECT_AFTER`` runs in a row (the WAF's silent answer)."""
        return self._get(source, scope).empty_streak >= SUSPECT_AFTER

    def failed(self, source: str, scope: str, failure: Failure, delay: float) -> None:
        rec = self._get(source, scope)
        rec.consecutive_failures += 1
        rec.last_kind = failure.kind
        rec.last_error = f"{failure.kind.value}: {failure.detail}"
        rec.backing_off_until = time.time() + delay

    def rate_limited(self, source: str, scope: str, wait: float | None) -> None:
        rec = self._get(source, scope)
        rec.rate_limited_until = None if wait is None else time.time() + wait

    def snapshot(self) -> dict[str, dict[str, ScopeReport]]:
        """Per source, per scope: the record health shows (an error never names an address)."""
        out: dict[str, dict[str, ScopeReport]] = {}
        now = time.time()
        for (source, scope), rec in sorted(self.records.items()):
            backing = rec.backing_off_until is not None and rec.backing_off_until > now
            state: ScopeState = "ok"
            if backing:
                state = "backing_off"
            if rec.empty_streak >= SUSPECT_AFTER:
                state = "suspect_empty"
            if rec.consecutive_failures and rec.last_kind is FailureKind.BLOCKED:
                state = "blocked"
            out.setdefault(source, {})[scope] = ScopeReport(
                state=state, last_success=_iso(rec.last_success), consecutive_failures=rec.consecutive_failures,
                backing_off_until=_iso(rec.backing_off_until) if backing else None,
                last_error=without_addresses(rec.last_error), empty_streak=rec.empty_streak)
        return out

def _iso(stamp: float | None) -> str | None:
    return None if stamp is None else utc_iso(dt.datetime.fromtimestamp(stamp, dt.UTC), "seconds")
