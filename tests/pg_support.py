"""Test databases on the session's PostgreSQL: each test's own copy of the migrated template."""

from __future__ import annotations

import itertools
import os
from pathlib import Path
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


def reachable_by_the_cluster_user(path: Path, up_to: Path) -> None:
    """As root, let ``vibed-postgres`` search the suite's own temp dirs (``path`` and its parents to ``up_to``).

    The embedded cluster then runs as that user, and vibed never widens a directory it did not
    make (it refuses, naming the fix); pytest makes its temp dirs 0700, so the suite grants it,
    as the README tells an operator to for a data directory of their choosing.
    """
    if os.geteuid() != 0:
        return
    for directory in [path, *path.parents]:
        directory.chmod(directory.stat().st_mode | 0o001)
        if directory == up_to:
            break
