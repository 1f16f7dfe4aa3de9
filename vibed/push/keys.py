"""The deployment's VAPID key (RFC 8292), one for every process: made on first start, kept in ``push_vapid``.

Two daemons starting at once both try to insert theirs; the row's ``CHECK (id = 1)`` key lets one
win (``ON CONFLICT DO NOTHING``) and both read back the winner, so every process signs with the
key the browsers subscribed with.
"""

from __future__ import annotations

from vibed.push.crypto import Vapid
from vibed.store.postgres import Database

_INSERT = "INSERT INTO push_vapid (private_key, public_key) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING"
_READ = "SELECT private_key FROM push_vapid WHERE id = 1"
_PUBLIC = "SELECT public_key FROM push_vapid WHERE id = 1"


async def load_or_make(db: Database, contact: str) -> Vapid:
    row = await db.fetchrow(_READ)
    if row is None:
        made = Vapid.generate(contact)
        await db.execute(_INSERT, made.scalar, made.public_key)
        row = await db.fetchrow(_READ)
        assert row is not None
    return Vapid.from_scalar(bytes(row["private_key"]), contact)


async def public_key(db: Database) -> bytes | None:
    """The public key browsers pass as ``applicationServerKey``; None before the first start made it."""
    value = await db.fetchval(_PUBLIC)
    return None if value is None else bytes(value)
