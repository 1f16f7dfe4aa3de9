"""Push subscriptions: a browser's endpoint and keys with the one ``ReleaseFilter`` (SQL).

Anyone may subscribe: the page does it for a visitor who asked to be notified.  The endpoint is
the capability — a URL only that browser and its push service know — so subscribing again with
the same endpoint replaces its keys and filter (no second row), and unsubscribing names the
endpoint.  Rows are never listed back: an endpoint is a bearer of that browser's notifications.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from vibed.health import PushHealth
from vibed.store.outbox import PUSH
from vibed.store.postgres import Database
from vibed.vocab.release_filter import ReleaseFilter

# a new endpoint only while the table holds fewer than $9 rows; a known one is always replaced
_SUBSCRIBE = """
INSERT INTO push_subscriptions AS s (endpoint, p256dh, auth, languages, sources, kinds, artists, watch_id)
SELECT $1, $2, $3, $4, $5, $6, $7, $8
 WHERE (SELECT count(*) FROM push_subscriptions) < $9
    OR EXISTS (SELECT 1 FROM push_subscriptions WHERE endpoint = $1)
ON CONFLICT (endpoint) DO UPDATE SET p256dh = EXCLUDED.p256dh, auth = EXCLUDED.auth,
    languages = EXCLUDED.languages, sources = EXCLUDED.sources, kinds = EXCLUDED.kinds,
    artists = EXCLUDED.artists, watch_id = EXCLUDED.watch_id
RETURNING s.id, s.languages, s.sources, s.kinds, s.artists, s.watch_id, s.created_at, (s.xmax = 0) AS created
"""
_UNSUBSCRIBE = "DELETE FROM push_subscriptions WHERE endpoint = $1 RETURNING id"
_GONE = "DELETE FROM push_subscriptions WHERE id = $1"
_HEALTH = f"""
SELECT (SELECT count(*) FROM push_subscriptions) AS subscriptions,
       {PUSH.totals()}
"""


@attrs.frozen
class NewSubscription:
    endpoint: str
    p256dh: bytes
    auth: bytes = attrs.field(repr=False)
    release_filter: ReleaseFilter
    watch: str | None = None


class TooMany(Exception):
    """The table holds the most subscriptions the deployment allows (``VIBED_MAX_PUSH_SUBSCRIPTIONS``)."""


async def subscribe(db: Database, sub: NewSubscription, limit: int) -> Mapping[str, Any]:
    """The stored row; ``created`` is False when the endpoint was subscribed already (now replaced)."""
    row: Mapping[str, Any] | None = await db.fetchrow(_SUBSCRIBE, sub.endpoint, sub.p256dh, sub.auth,
                                                      *sub.release_filter.columns(), sub.watch, limit)
    if row is None:
        raise TooMany(f"this deployment holds its most push subscriptions ({limit:,})")
    return row


async def unsubscribe(db: Database, endpoint: str) -> bool:
    """Gone with its pending deliveries; False when no subscription has that endpoint."""
    return await db.fetchval(_UNSUBSCRIBE, endpoint) is not None


async def gone(db: Database, subscription_id: int) -> None:
    """The push service says the subscription no longer exists (404/410): forget it."""
    await db.execute(_GONE, subscription_id)


async def health(db: Database) -> PushHealth:
    row = await db.fetchrow(_HEALTH)
    assert row is not None
    return PushHealth(subscriptions=row["subscriptions"], pending=row["pending"], dead=row["dead"])
