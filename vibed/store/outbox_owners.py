"""The owners of an outbox that people make (webhooks, notification targets): read and deleted by their owner.

Every read and delete names the owner (``jwt:<sub>`` or ``local``, see ``vibed.http.control.authorize``), so
one owner's rows are invisible to another (a 404, as for a row that does not exist).  A row read here carries
its ``public`` columns only, with its outbox's pending and dead counts; ``health`` counts every owner's rows
and names the paused ones by id (never by URL: a target's URL can be a credential).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import attrs

from vibed.store.outbox import Outbox
from vibed.store.postgres import Database

R = TypeVar("R")


@attrs.frozen
class OwnedRows:
    box: Outbox  # its outbox, whose ``owners`` is this table
    alias: str  # the table's alias in ``public``
    public: str  # the columns an answer may carry, as ``alias.column, …``

    @property
    def returning(self) -> str:
        """A RETURNING list for a row just made: its public columns, nothing pending yet."""
        return f"{self.public}, 0::bigint AS pending, 0::bigint AS dead"

    async def create(self, db: Database, **values: Any) -> Mapping[str, Any]:
        """A new row of these column ``values``: its public columns, nothing pending yet."""
        columns = ", ".join(values)
        places = ", ".join(f"${n}" for n in range(1, len(values) + 1))
        row: Mapping[str, Any] | None = await db.fetchrow(
            f"INSERT INTO {self.box.owners} AS {self.alias} ({columns}) VALUES ({places}) RETURNING {self.returning}",
            *values.values())
        assert row is not None
        return row

    async def list_all(self, db: Database, owner: str) -> list[Mapping[str, Any]]:
        """Every row of ``owner``."""
        return list(await db.fetch(f"{self._select()} WHERE {self.alias}.owner = $1 ORDER BY {self.alias}.id", owner))

    async def get(self, db: Database, row_id: int, owner: str) -> Mapping[str, Any] | None:
        """The row, when it exists and is ``owner``'s."""
        return await db.fetchrow(f"{self._select()} WHERE {self.alias}.id = $1 AND {self.alias}.owner = $2",
                                 row_id, owner)

    async def delete(self, db: Database, row_id: int, owner: str) -> bool:
        """Gone with every outbox row of it (pending ones are never sent); False when not ``owner``'s."""
        return await db.fetchval(f"DELETE FROM {self.box.owners} WHERE id = $1 AND owner = $2 RETURNING id",
                                 row_id, owner) is not None

    async def health(self, db: Database, record: Callable[..., R]) -> R:
        """``record`` of ``targets`` (how many), ``paused`` (their ids), and the outbox's ``pending`` and ``dead``."""
        row: Mapping[str, Any] | None = await db.fetchrow(f"""
SELECT count(*) AS targets,
       coalesce(array_agg(id ORDER BY id) FILTER (WHERE paused_at IS NOT NULL), '{{}}') AS paused,
       {self.box.totals()}
  FROM {self.box.owners}
""")
        assert row is not None
        return record(targets=row["targets"], paused=tuple(row["paused"]), pending=row["pending"], dead=row["dead"])

    def _select(self) -> str:
        return f"SELECT {self.public}, {self.box.counts(self.alias)} FROM {self.box.owners} {self.alias}"
