"""Why a source makes the daemon ``degraded``: one short sentence per (source, scope)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FAILED_ROUNDS = 3  # consecutive failed runs of one scope before health says so


def source_reasons(sources: Mapping[str, Any]) -> list[str]:
    reasons: list[str] = []
    for name, source in sorted(sources.items()):
        if not source.get("available", True):
            reasons.append(f"{name}: gone for this account (new-releases answered 403/404)")
            continue
        for scope, s in sorted(source.get("scopes", {}).items()):
            where = f"{name}/{scope}"
            error = s.get("last_error") or "?"
            if s.get("state") == "blocked":
                reasons.append(f"{where}: blocked by upstream ({error})")
            elif s.get("state") == "suspect_empty":
                reasons.append(f"{where}: suspiciously empty for {s.get('empty_streak')} runs")
            elif s.get("consecutive_failures", 0) >= FAILED_ROUNDS:
                reasons.append(f"{where}: failed {s['consecutive_failures']} runs in a row ({error})")
    return reasons


def webhook_reasons(webhooks: Mapping[str, Any]) -> list[str]:
    """A paused webhook target degrades health until it is resumed (POST …/redeliver)."""
    return [f"webhook {wid}: paused after failing repeatedly (POST /api/webhooks/{wid}/redeliver resumes it)"
            for wid in webhooks.get("paused", [])]
