"""The one-line summary of a running daemon (systemd's ``STATUS=``)."""

from __future__ import annotations

from typing import Any


def status_line(runtime: Any) -> str:
    """Languages watched, last round, new releases."""
    scheduler = runtime.parts.get("scheduler")
    last = getattr(scheduler, "last_round", None)
    langs = ",".join(runtime.config.languages)
    if last is None:
        return f"watching {langs}; no round yet"
    return f"watching {langs}; last round {last.id}: {last.requests} requests, {last.events} new"
