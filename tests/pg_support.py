"""Test databases on the session's PostgreSQL: each test's own copy of the migrated template."""

from __future__ import annotations

import itertools
import os
from urllib.parse import urlsplit, urlunsplit

from vibed.store.postgres import open_database

TEMPLATE = "vibed_template"
_counter = itertools.count()


def with_database(dsn: str, name: str) -> str:
    """The same server URL with another database name (works for socket and TCP URLs)."""
    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


async def create_test_database(admin: str) -> str:
    name = f"t_{os.getpid()}_{next(_counter)}"
    async with open_database(admin, pool_size=1) as db:
        await db.execute(f'CREATE DATABASE "{name}" TEMPLATE "{TEMPLATE}"')
    return with_database(admin, name)
