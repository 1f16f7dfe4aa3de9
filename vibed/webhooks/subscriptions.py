"""Webhook subscriptions: created, listed, deleted, resumed; and what health says of them.

A subscription is a target URL, the one ``ReleaseFilter`` (four array columns, NULL = no
restriction on that part; ``ReleaseFilter.stored`` reads them back) or a watch it follows
(``watch_id``: the watch's filter as it is when each event is written; deleting the watch deletes it), a
payload format, its signing secret and its owner (``jwt:<sub>`` or ``local``, see
``vibed.http.control.authorize``): every read and delete names the owner, so one owner's rows
are invisible to another (a 404, as for a row that does not exist).  The secret is returned by ``create`` only: every
other read leaves it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from vibed.health import WebhooksHealth
from vibed.store.outbox import WEBHOOKS
from vibed.store.outbox_owners import OwnedRows
from vibed.store.postgres import Database
from vibed.vocab.release_filter import ReleaseFilter

_PUBLIC = ("w.id, w.url, w.languages, w.sources, w.kinds, w.artists, w.watch_id, w.format, w.created_at, "
           "w.consecutive_failures, w.paused_at, w.paused_reason")
_ROWS = OwnedRows(WEBHOOKS, "w", _PUBLIC)  # read and deleted by their owner (vibed/store/outbox_owners.py)


async def create(db: Database, *, url: str, release_filter: ReleaseFilter, format: str, secret: str,
                 owner: str, watch: str | None = None) -> Mapping[str, Any]:
    """``watch``: the subscription follows that watch (its filter as it is at each event) instead."""
    languages, sources, kinds, artists = release_filter.columns()
    return await _ROWS.create(db, url=url, languages=languages, sources=sources, kinds=kinds, artists=artists,
                              format=format, secret=secret, owner=owner, watch_id=watch)


# every read and delete names the owner: another owner's row is invisible (vibed/store/outbox_owners.py)
list_all = _ROWS.list_all
get = _ROWS.get
delete = _ROWS.delete


async def health(db: Database) -> WebhooksHealth:
    """Targets, the paused ones by id (never by URL: a webhook URL can be a credential), the queue."""
    return await _ROWS.health(db, WebhooksHealth)
