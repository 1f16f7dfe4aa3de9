"""The token bucket: one row of ``rate_limit_tokens`` per service, taken by one atomic statement.

The refill is continuous (``refill_rate`` tokens per ``refill_interval``) and computed by the
database's clock inside the statement that takes, so restarts, clock skew between hosts and
several daemons never spend more than the bucket allows.  The row lock of the UPDATE orders
concurrent takers; READ COMMITTED re-evaluates the WHERE on the row version it waited for.
An operator's ``UPDATE … SET max_tokens=…, refill_rate=…`` is read by the very next take, and
counts from the moment it is made: the table's triggers (schema/0007) settle the time before it
at the old rate, and a ``tokens`` set without ``last_refill`` is the level now.
"""

from __future__ import annotations

import attrs

from vibed.store.postgres import Database

# elapsed seconds since the last refill, never negative: the server's clock can step back (NTP, a
# restored VM), and last_refill never moves back with it — a stepped-back clock neither drains nor
# refills the bucket (tests/test_bucket.py forces it).  Takers queued on the row lock do not need
# this: PostgreSQL re-reads clock_timestamp() once the lock is granted.
_LEVEL = """
LEAST(max_tokens, tokens + refill_rate
      * GREATEST(0, EXTRACT(EPOCH FROM clock_timestamp() - last_refill))
      / EXTRACT(EPOCH FROM refill_interval))
"""

_TAKE = f"""
UPDATE rate_limit_tokens
   SET tokens = {_LEVEL} - $2,
       last_refill = GREATEST(last_refill, clock_timestamp())
 WHERE service_name = $1 AND {_LEVEL} >= $2
RETURNING tokens
"""

_PEEK = f"""
SELECT {_LEVEL} AS tokens, max_tokens, refill_rate, EXTRACT(EPOCH FROM refill_interval) AS interval_s,
       CASE WHEN refill_rate > 0
            THEN GREATEST(0, ($2 - {_LEVEL}) * EXTRACT(EPOCH FROM refill_interval) / refill_rate)
       END AS wait_s,
       clock_timestamp() AS now
  FROM rate_limit_tokens WHERE service_name = $1
"""


@attrs.frozen
class Grant:
    granted: bool
    remaining: float  # tokens left after this take (or now, when refused)
    wait_s: float | None  # when refused: seconds until enough tokens (None: never, rate 0 / no row)


@attrs.frozen
class BucketState:
    service: str
    tokens: float
    max_tokens: float
    refill_rate: float
    interval_s: float
    next_token_s: float | None


class UnknownService(LookupError):
    pass


async def take(db: Database, service: str, n: float = 1.0) -> Grant:
    """Take ``n`` tokens now, or learn how long until there are enough."""
    remaining = await db.fetchval(_TAKE, service, float(n))
    if remaining is not None:
        return Grant(True, float(remaining), None)
    row = await db.fetchrow(_PEEK, service, float(n))
    if row is None:
        raise UnknownService(f"no rate_limit_tokens row for service {service!r}")
    wait = None if row["wait_s"] is None else float(row["wait_s"])
    return Grant(False, float(row["tokens"]), wait)


async def peek(db: Database, service: str) -> BucketState | None:
    row = await db.fetchrow(_PEEK, service, 1.0)
    if row is None:
        return None
    wait = None if row["wait_s"] is None else float(row["wait_s"])
    return BucketState(service, float(row["tokens"]), float(row["max_tokens"]), float(row["refill_rate"]),
                       float(row["interval_s"]), wait)


async def all_buckets(db: Database) -> list[BucketState]:
    names = [r["service_name"] for r in await db.fetch("SELECT service_name FROM rate_limit_tokens ORDER BY 1")]
    states = [await peek(db, name) for name in names]
    return [s for s in states if s is not None]


async def change(db: Database, service: str, *, max_tokens: float | None = None, per_day: float | None = None,
                 tokens: float | None = None) -> BucketState:
    """The guide's ``UPDATE rate_limit_tokens SET max_tokens=…, refill_rate=… WHERE service_name=…``.

    Only the columns given are set; the table's triggers (schema/0007) make the change count from
    now: the time before it is settled at the old rate, and a given ``tokens`` is the level now.
    """
    sets: list[str] = []
    args: list[object] = [service]
    for column, value in (("max_tokens", max_tokens), ("refill_rate", per_day), ("tokens", tokens)):
        if value is not None:
            args.append(float(value))
            sets.append(f"{column} = ${len(args)}")
    if per_day is not None:
        sets.append("refill_interval = interval '1 day'")  # --per-day: a rate per day, whatever it was
    if sets:
        done = await db.execute(f"UPDATE rate_limit_tokens SET {', '.join(sets)} WHERE service_name = $1", *args)
        if done == "UPDATE 0":
            raise UnknownService(f"no rate_limit_tokens row for service {service!r}")
    state = await peek(db, service)
    if state is None:
        raise UnknownService(f"no rate_limit_tokens row for service {service!r}")
    return state
