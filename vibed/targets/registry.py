"""The notify_targets table: created, listed, read, deleted by their owner; and what health says of them.

Every read and delete names the owner (``jwt:<sub>`` or ``local``), so one owner's targets are
invisible to another (a 404, as for one that does not exist).  ``url`` is never read here: answers
carry ``shown_url`` only (the sender alone reads the URL, in vibed/targets/outbox.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vibed.health import TargetsHealth
from vibed.store.outbox import TARGETS
from vibed.store.outbox_owners import OwnedRows
from vibed.store.postgres import Database
from vibed.vocab.release_filter import ReleaseFilter

_PUBLIC = ("t.id, t.shown_url, t.service, t.languages, t.sources, t.kinds, t.artists, t.watch_id, t.digest, t.quiet_start, "
           "t.quiet_end, t.tz, t.created_at, t.consecutive_failures, t.paused_at, t.paused_reason")
_ROWS = OwnedRows(TARGETS, "t", _PUBLIC)  # read and deleted by their owner (vibed/store/outbox_owners.py)
_CREATE = f"""
INSERT INTO notify_targets AS t (owner, url, shown_url, service, languages, sources, kinds, artists, watch_id,
                                 digest, quiet_start, quiet_end, tz)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING {_ROWS.returning}
"""


@attrs.frozen
class NewTarget:
    owner: str
    url: str = attrs.field(repr=False)  # with its credentials
    shown_url: str
    service: str
    release_filter: ReleaseFilter
    watch_id: str | None  # follows this watch's filter instead of its own
    digest: str  # "off" | "hourly" | "daily"
    quiet: tuple[int, int] | None  # seconds after local midnight
    tz: str


async def create(db: Database, target: NewTarget) -> Mapping[str, Any]:
    quiet = target.quiet or (None, None)
    row: Mapping[str, Any] | None = await db.fetchrow(
        _CREATE, target.owner, target.url, target.shown_url, target.service, *target.release_filter.columns(),
        target.watch_id, target.digest, quiet[0], quiet[1], target.tz)
    assert row is not None
    return row


# every read and delete names the owner: another owner's row is invisible (vibed/store/outbox_owners.py)
list_all = _ROWS.list_all
get = _ROWS.get
delete = _ROWS.delete


async def health(db: Database) -> TargetsHealth:
    """Targets, the paused ones by id (never by URL: it is a credential), the outbox by state."""
    row = await _ROWS.health(db)
    return TargetsHealth(targets=row["targets"], paused=tuple(row["paused"]), pending=row["pending"],
                         dead=row["dead"])
