"""What a failed database call means to the daemon: "not now" (``DatabaseUnavailable``, a 503) or "not this".

Shared by the pool (vibed/store/postgres.py) and the reads' connections (vibed/store/reader.py).
"""

from __future__ import annotations

import asyncpg

from vibed.logs.redact import redact_urls_in

__all__ = ["DatabaseUnavailable", "as_unavailable", "is_transient"]


class DatabaseUnavailable(ConnectionError):
    """One call failed because the database is down, restarting or did not answer in time.

    A ``ConnectionError`` (so an ``OSError``): callers that already treat a lost connection as
    transient keep doing so.  HTTP renders it as 503.
    """


# what a dead, restarting or stopped server looks like from asyncpg (SQL errors are not here)
_CONNECTION_ERRORS = (
    OSError, asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError, asyncpg.OperatorInterventionError, TimeoutError,
)


# SQL errors that mean "not now" rather than "not this": the same statement may well succeed on a
# later try (serialization failure, deadlock, lock timeout, object in use, out of resources, I/O
# error).  They fail a call as ``DatabaseUnavailable``, like an outage, so a writer batch fails
# whole and is fetched again, instead of each release in it being skipped as bad data.
_TRANSIENT_SQLSTATES = ("40001", "40P01", "40003", "55P03", "55006", "53", "58")


def is_transient(exc: BaseException) -> bool:
    state = getattr(exc, "sqlstate", None) or ""
    return isinstance(exc, asyncpg.PostgresError) and state.startswith(_TRANSIENT_SQLSTATES)


def _reason(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return redact_urls_in(text.splitlines()[0][:200])


def as_unavailable(exc: Exception) -> Exception:
    """``exc`` as the call's caller sees it: DatabaseUnavailable for an outage or a transient SQL
    error, the SQL error itself otherwise."""
    if isinstance(exc, DatabaseUnavailable):
        return exc
    if isinstance(exc, _CONNECTION_ERRORS):
        return DatabaseUnavailable(f"the database connection failed: {_reason(exc)}")
    if is_transient(exc):
        return DatabaseUnavailable(f"the database could not do it now: {_reason(exc)}")
    return exc
