"""The public API's per-client limit: shared through Redis when REDIS_URL is set, in-process otherwise.

Every ``/api/…`` request counts except ``/api/health`` (load balancers and systemd poll it);
``/metrics`` and the page are outside ``/api/`` and never count.  A refused request is a 429 with
``Retry-After``; every counted answer carries ``RateLimit-Limit/-Remaining/-Reset``.

When Redis stops answering, the in-process limiter takes over (logged, at most every 30 s):
each instance then limits on its own, which is looser but never lets the API go unprotected,
and never turns a Redis outage into failed requests.
"""

from __future__ import annotations

import time
from typing import Any

from quart import g, request

from vibed.http.client_ip import client_ip, limit_key, trusted_networks
from vibed.http.errors import ApiError
from vibed.http.limiter import Decision, LocalLimiter
from vibed.logs import get_logger
from vibed.store.redis import RedisUnavailable
from vibed.store.redis_ratelimit import RedisLimiter

log = get_logger("vibed.http")
PERIOD_S = 60.0  # api_rate_limit is "requests per minute"
UNLIMITED_PATHS = frozenset({"/api/health"})
WARN_EVERY_S = 30.0


def counts(path: str) -> bool:
    return path.startswith("/api/") and path not in UNLIMITED_PATHS


class ApiLimiter:
    def __init__(self, config: Any) -> None:
        self.limit = int(config.api_rate_limit)
        self.trusted = trusted_networks(config.trusted_proxies)
        self.local = LocalLimiter(self.limit, PERIOD_S) if self.limit else None
        self.shared = RedisLimiter(config.redis_url, self.limit, PERIOD_S) if self.limit and config.redis_url \
            else None
        self._warned_at = -WARN_EVERY_S

    async def decide(self, client: str) -> Decision:
        key = limit_key(client)
        if self.shared is not None:
            try:
                v = await self.shared.hit(key)
                return Decision(v.allowed, self.limit, v.remaining, v.reset_s, v.retry_after_s)
            except RedisUnavailable as exc:
                now = time.monotonic()
                if now - self._warned_at >= WARN_EVERY_S:
                    self._warned_at = now
                    log.warning("api_limit_redis_unavailable", error=str(exc), fallback="in-process")
        assert self.local is not None
        return self.local.hit(key)

    async def aclose(self) -> None:
        if self.shared is not None:
            await self.shared.aclose()


def limit_headers(decision: Decision) -> dict[str, str]:
    headers = {"RateLimit-Limit": str(decision.limit), "RateLimit-Remaining": str(decision.remaining),
               "RateLimit-Reset": str(decision.reset_s)}
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after_s)
    return headers


def install(app: Any, config: Any) -> None:
    limiter = ApiLimiter(config)
    app.extensions["vibed_api_limiter"] = limiter

    @app.before_request
    async def _count_request() -> None:
        g.vibed_client_ip = client_ip(request.remote_addr, request.headers.getlist("X-Forwarded-For"),
                                      limiter.trusted)
        if limiter.limit == 0 or not counts(request.path) or request.method == "OPTIONS":
            return
        decision = await limiter.decide(g.vibed_client_ip)
        g.vibed_rate = decision
        if not decision.allowed:
            raise ApiError(429, "rate_limited",
                           f"more than {limiter.limit} requests per minute from your address; "
                           f"retry in {decision.retry_after_s} s", limit_headers(decision))

    @app.after_request
    async def _limit_headers(response: Any) -> Any:
        decision = g.get("vibed_rate")
        if decision is not None:
            for key, value in limit_headers(decision).items():
                response.headers[key] = value
        return response

    @app.after_serving
    async def _close() -> None:
        await limiter.aclose()
