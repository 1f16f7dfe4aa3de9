"""Keys the daemon creates for itself on first start and keeps in PostgreSQL (``daemon_keys``).

Made once with ``secrets.token_bytes``; the first instance to insert wins and every instance
on the database reads the same key, so what one signs the others accept.
"""

from __future__ import annotations

import secrets

from vibed.store.postgres import Database

KEY_BYTES = 32


async def daemon_key(db: Database, name: str) -> bytes:
    """The key called ``name``, created now if there is none yet."""
    await db.execute("INSERT INTO daemon_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
                     name, secrets.token_bytes(KEY_BYTES), timeout=10)
    return bytes(await db.fetchval("SELECT value FROM daemon_keys WHERE name = $1", name, timeout=10))
