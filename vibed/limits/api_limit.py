"""The public API's per-client limit: shared through Redis when REDIS_URL is set, in-process otherwise.

Every ``/api/…`` and ``/feeds/…`` request counts, stream opens included, except ``/api/health`` (load balancers
and systemd poll it); ``/metrics`` and the page are outside ``/api/`` and never count.  A refused
request is a 429 with ``Retry-After``; every counted answer carries ``RateLimit-Limit/-Remaining/-Reset``.

When Redis stops answering, the in-process limiter takes over (logged at once, then at most every
30 s, and ``outage_recovered`` when Redis answers again):
each instance then limits on its own, which is looser but never lets the API go unprotected,
and never turns a Redis outage into failed requests.  A circuit breaker keeps it that way for
``BREAKER_S`` before Redis is tried again, so an unreachable Redis costs one request its
timeout, not every request.
"""

from __future__ import annotations

import time

from vibed.config import Config
from vibed.limits.limiter import Decision, LocalLimiter
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.store.redis import RedisUnavailable
from vibed.store.redis_ratelimit import RedisLimiter
from vibed.vocab.client_ip import limit_key

log = get_logger("vibed.http")
Header = tuple[bytes, bytes]  # as the edge writes headers (vibed.edge.respond)
PERIOD_S = 60.0  # api_rate_limit is "requests per minute"
UNLIMITED_PATHS = frozenset({"/api/health"})
WARN_EVERY_S = 30.0
BREAKER_S = 5.0


def counts(method: str, path: str) -> bool:
    return method != "OPTIONS" and path.startswith(("/api/", "/feeds/")) and path not in UNLIMITED_PATHS


class ApiLimiter:
    def __init__(self, config: Config) -> None:
        self.limit = int(config.api_rate_limit)
        self.local = LocalLimiter(self.limit, PERIOD_S) if self.limit else None
        # built whenever Redis is configured, so a reload may turn the limit on later
        self.shared = RedisLimiter(config.redis_url, self.limit, PERIOD_S) if config.redis_url else None
        self._outage = Outage(log, "api_limit_redis_unavailable", every=WARN_EVERY_S)  # and a line at its end
        self._redis_again_at = 0.0  # breaker: Redis is not asked before this (monotonic seconds)

    def set_limit(self, limit: int) -> None:
        """SIGHUP: a new requests-per-minute figure (0 = off); in-process counts start afresh."""
        if limit != self.limit:
            self.limit = limit
            self.local = LocalLimiter(limit, PERIOD_S) if limit else None
            if self.shared is not None:
                self.shared.limit = limit

    def decide_nowait(self, client: str) -> Decision | None:
        """The in-process decision; None, with nothing counted, while Redis is to be asked (``decide``)."""
        if self.shared is not None and time.monotonic() >= self._redis_again_at:
            return None
        assert self.local is not None
        return self.local.hit(limit_key(client))

    async def decide(self, client: str) -> Decision:
        decision = self.decide_nowait(client)
        if decision is not None:
            return decision
        assert self.shared is not None
        key = limit_key(client)
        try:
            v = await self.shared.hit(key)
        except RedisUnavailable as exc:
            self._redis_again_at = time.monotonic() + BREAKER_S
            self._outage.failed(error=str(exc), fallback="in-process")
        else:
            self._outage.succeeded()
            return Decision(v.allowed, self.limit, v.remaining, v.reset_s, v.retry_after_s)
        assert self.local is not None
        return self.local.hit(key)

    async def aclose(self) -> None:
        if self.shared is not None:
            await self.shared.aclose()


def limit_headers(decision: Decision) -> list[Header]:
    headers = [(b"ratelimit-limit", b"%d" % decision.limit), (b"ratelimit-remaining", b"%d" % decision.remaining),
               (b"ratelimit-reset", b"%d" % decision.reset_s)]
    if not decision.allowed:
        headers.append((b"retry-after", b"%d" % decision.retry_after_s))
    return headers
