"""Per (source, scope) fetch state in PostgreSQL: claims for a round, successes, failures, back-off.

Shared by every daemon on the database, so back-off and health survive restarts, and two
daemons never fetch the same (source, scope) for the same scheduled round.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator

import asyncpg
import attrs
import trio

from vibed.store.postgres import Database, DatabaseUnavailable
from vibed.vocab.messages import ScopeKey, scope_label

# a (source, scope) run for one scheduled slot is claimed once: the row lock orders claimers,
# and only the first sees last_slot differ.  Poke rounds use a unique slot and always claim.
_CLAIM = """
INSERT INTO fetch_state (source, scope, last_slot, last_poll) VALUES ($1, $2, $3, now())
ON CONFLICT (source, scope) DO UPDATE SET last_slot = EXCLUDED.last_slot, last_poll = now()
 WHERE fetch_state.last_slot IS DISTINCT FROM EXCLUDED.last_slot
RETURNING extract(epoch FROM greatest(backoff_until - now(), interval '0')) AS backoff_s, resume_pages
"""

# an adaptive poll is claimed when no daemon polled the (source, scope) within the gap (at least a
# minute of scheduler time): the row lock orders claimers, and the second sees the first's last_poll
_CLAIM_POLL = """
INSERT INTO fetch_state (source, scope, last_slot, last_poll) VALUES ($1, $2, $3, now())
ON CONFLICT (source, scope) DO UPDATE SET last_slot = EXCLUDED.last_slot, last_poll = now()
 WHERE fetch_state.last_poll IS NULL OR fetch_state.last_poll <= now() - make_interval(secs => $4)
RETURNING extract(epoch FROM greatest(backoff_until - now(), interval '0')) AS backoff_s, resume_pages
"""


@attrs.frozen
class ScopeState:
    source: str
    scope: str
    last_success: dt.datetime | None
    last_failure: dt.datetime | None
    last_error: str | None
    consecutive_failures: int
    backoff_until: dt.datetime | None


@attrs.frozen
class Claim:
    backoff_s: float  # > 0: backing off, do not call upstream
    resume_pages: int  # keep paging at least this far (an earlier run was cut short)


async def claim(db: Database, source: str, scope: str, slot: str) -> Claim | None:
    """Claim the run; None when another daemon already has it for this slot."""
    row = await db.fetchrow(_CLAIM, source, scope, slot)
    return None if row is None else Claim(float(row["backoff_s"]), int(row["resume_pages"]))


async def claim_poll(db: Database, source: str, scope: str, slot: str, gap_s: float) -> Claim | None:
    """Claim an adaptive poll; None when some daemon polled it less than ``gap_s`` (wall) ago."""
    row = await db.fetchrow(_CLAIM_POLL, source, scope, slot, float(gap_s))
    return None if row is None else Claim(float(row["backoff_s"]), int(row["resume_pages"]))


async def last_polls(db: Database) -> dict[ScopeKey, dt.datetime]:
    """When each (source, scope) was last polled, by any daemon."""
    rows = await db.fetch("SELECT source, scope, last_poll FROM fetch_state WHERE last_poll IS NOT NULL")
    return {(r["source"], r["scope"]): r["last_poll"] for r in rows}


async def set_resume(db: Database, source: str, scope: str, pages: int) -> None:
    await db.execute("UPDATE fetch_state SET resume_pages = $3 WHERE source = $1 AND scope = $2",
                     source, scope, pages)


async def record_success(db: Database, source: str, scope: str) -> None:
    await db.execute(
        "UPDATE fetch_state SET last_success = now(), consecutive_failures = 0, backoff_until = NULL"
        " WHERE source = $1 AND scope = $2", source, scope)


async def record_failure(db: Database, source: str, scope: str, error: str, backoff_s: float) -> None:
    await db.execute(
        "UPDATE fetch_state SET last_failure = now(), last_error = $3,"
        " consecutive_failures = consecutive_failures + 1,"
        " backoff_until = greatest(coalesce(backoff_until, now()), now() + make_interval(secs => $4))"
        " WHERE source = $1 AND scope = $2", source, scope, error[:300], backoff_s)


async def failures(db: Database, source: str, scope: str) -> int:
    return int(await db.fetchval(
        "SELECT consecutive_failures FROM fetch_state WHERE source = $1 AND scope = $2", source, scope) or 0)


async def last_success_age(db: Database) -> float | None:
    """Seconds since any process of the deployment last fetched a scope completely; None = never."""
    age = await db.fetchval("SELECT extract(epoch FROM now() - max(last_success)) FROM fetch_state")
    return None if age is None else float(age)


async def all_states(db: Database) -> list[ScopeState]:
    rows = await db.fetch(
        "SELECT source, scope, last_success, last_failure, last_error, consecutive_failures, backoff_until"
        " FROM fetch_state ORDER BY source, scope")
    return [ScopeState(**dict(r)) for r in rows]


@contextlib.asynccontextmanager
async def hold_run_lock(db: Database, source: str, scope: str) -> AsyncIterator[bool]:
    """Session advisory lock on (source, scope) for the length of a run: True when we hold it.

    It keeps runs from overlapping across daemons even for poke rounds; it dies with the
    connection, so a SIGKILLed daemon never leaves it behind.
    """
    key = "vibed:" + scope_label((source, scope))
    conn = await db.acquire()
    try:
        held = bool(await db.run(conn.fetchval, "SELECT pg_try_advisory_lock(hashtext($1))", key,
                                 timeout=db.timeout))
        try:
            yield held
        finally:
            if held:
                with trio.CancelScope(shield=True), contextlib.suppress(DatabaseUnavailable, asyncpg.PostgresError):
                    # a lost connection has already dropped the lock with it
                    await db.run(conn.fetchval, "SELECT pg_advisory_unlock(hashtext($1))", key,
                                 timeout=db.timeout)
    finally:
        with trio.CancelScope(shield=True), contextlib.suppress(DatabaseUnavailable):
            await db.release(conn)
