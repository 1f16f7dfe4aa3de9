"""The per-client request limit shared by every instance: GCRA in one Lua script on Redis.

The script reads Redis's own clock (``TIME``), so instances with skewed clocks agree, and runs
atomically, so two instances counting the same client never both spend its last request.  The
key holds the client's theoretical arrival time and expires when the client is back at full
quota: idle clients cost Redis nothing.  Same arithmetic as ``vibed.limits.limiter.gcra``, whose
``Decision`` the HTTP side builds from the ``SharedVerdict`` returned here.

Every redis-py error becomes ``RedisUnavailable`` (the Trio side never imports redis).
"""

from __future__ import annotations

import contextlib

import attrs
import redis.asyncio as aioredis
import redis.exceptions
import trio
from trio_asyncio import aio_as_trio

from vibed.store.postgres import redact_dsn
from vibed.store.redis import RedisUnavailable

_ERRORS = (redis.exceptions.RedisError, OSError, ConnectionError, TimeoutError)
KEY_PREFIX = "vibed:api-limit:"

# KEYS[1] = client key; ARGV = limit, period in ms.  Returns {allowed, remaining, reset_ms, retry_ms}.
_GCRA = """
local limit = tonumber(ARGV[1])
local period = tonumber(ARGV[2])
local interval = period / limit
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local new_tat = tat + interval
if new_tat - now > period then
  return {0, 0, math.ceil(tat - now), math.ceil(new_tat - period - now)}
end
redis.call('SET', KEYS[1], string.format('%.3f', new_tat), 'PX', math.ceil(new_tat - now))
return {1, math.floor((period - (new_tat - now)) / interval + 1e-9), math.ceil(new_tat - now), 0}
"""


@attrs.frozen
class SharedVerdict:
    allowed: bool
    remaining: int
    reset_s: int  # seconds until the client is back at full quota
    retry_after_s: int  # when refused: seconds until one request is allowed again (else 0)


class RedisLimiter:
    """A Trio face on the shared limit; ``hit`` raises ``RedisUnavailable`` when Redis does not answer."""

    def __init__(self, url: str, limit: int, period: float = 60.0) -> None:
        self.url = url
        self.limit = limit
        self.period_ms = int(period * 1000)
        # short timeouts: a request must not wait on a dead Redis (the caller falls back to local)
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1,
                                               retry_on_timeout=False)
        self._script = self._client.register_script(_GCRA)

    async def hit(self, client: str) -> SharedVerdict:
        try:
            allowed, remaining, reset_ms, retry_ms = await aio_as_trio(self._script)(
                keys=[KEY_PREFIX + client], args=[self.limit, self.period_ms])
        except _ERRORS as exc:
            reason = (str(exc) or type(exc).__name__).splitlines()[0][:200]
            raise RedisUnavailable(f"redis at {redact_dsn(self.url)}: {reason}") from None
        return SharedVerdict(bool(allowed), int(remaining), -(-int(reset_ms) // 1000),
                             max(1, -(-int(retry_ms) // 1000)) if not allowed else 0)

    async def aclose(self) -> None:
        # shielded: the app's after_serving runs while the daemon's nursery is being cancelled,
        # and an interrupted close leaves sockets for asyncio to complain about after the loop
        with trio.CancelScope(shield=True), trio.move_on_after(2), contextlib.suppress(*_ERRORS):
            await aio_as_trio(self._client.aclose)()
