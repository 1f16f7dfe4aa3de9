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
    languages, sources, kinds, artists = target.release_filter.columns()
    return await _ROWS.create(db, owner=target.owner, url=target.url, shown_url=target.shown_url,
                              service=target.service, languages=languages, sources=sources, kinds=kinds,
                              artists=artists, watch_id=target.watch_id, digest=target.digest,
                              quiet_start=quiet[0], quiet_end=quiet[1], tz=target.tz)


# every read and delete names the owner: another owner's row is invisible (vibed/store/outbox_owners.py)
list_all = _ROWS.list_all
get = _ROWS.get
delete = _ROWS.delete


async def health(db: Database) -> TargetsHealth:
    """Targets, the paused ones by id (never by URL: it is a credential), the outbox by state."""
    return await _ROWS.health(db, TargetsHealth)
