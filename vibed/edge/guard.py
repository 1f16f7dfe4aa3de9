"""What the edge decides about a request before anyone serves it: who sent it, may it, from where.

``Guard.check`` runs for every request on every connection, streams and cache hits included:
- the client address (the peer, or behind a trusted proxy the right-most untrusted hop), and
  its key, the one every per-client limit counts by: the address, or its /64 for IPv6 (one host
  is given a whole /64, so counting addresses would let one host take every slot);
- a CORS preflight is answered here (the app never sees one);
- the per-IP API limit: a 429 here, or the ``RateLimit-*`` headers the answer will carry.
It returns a ``Verdict``: the headers every answer to this request carries (CORS, RateLimit-*),
and, when the request must not go further, the refusal to write instead.
"""

from __future__ import annotations

import attrs

from vibed.config import Config
from vibed.edge.cors import CorsPolicy
from vibed.edge.respond import Answer, Header, error_answer
from vibed.limits.api_limit import ApiLimiter, counts, limit_headers
from vibed.limits.limiter import Decision
from vibed.limits.peers import PeerConnections
from vibed.vocab.client_ip import Network, client_ip, limit_key, trusted_networks


@attrs.frozen
class Verdict:
    ip: str
    headers: list[Header]  # added to whatever answers this request
    refusal: Answer | None = None

    @property
    def key(self) -> str:
        """The client key of every per-client limit: the API limit's, and the streams' per client."""
        return limit_key(self.ip)


@attrs.define(eq=False)
class Guard:
    trusted: tuple[Network, ...]
    cors: CorsPolicy
    limiter: ApiLimiter
    peers: PeerConnections = attrs.field(factory=lambda: PeerConnections(0))  # counted at accept (server.py)

    @classmethod
    def from_config(cls, config: Config) -> Guard:
        return cls(trusted_networks(config.trusted_proxies), CorsPolicy(tuple(config.cors_origins)),
                   ApiLimiter(config), PeerConnections(config.connections_per_peer))

    def reconfigure(self, config: Config) -> None:
        """SIGHUP: trusted proxies, CORS origins, the per-IP limit and the connections per peer take
        effect for the next request (connection)."""
        self.trusted = trusted_networks(config.trusted_proxies)
        self.cors = CorsPolicy(tuple(config.cors_origins))
        self.limiter.set_limit(int(config.api_rate_limit))
        self.peers.limit = config.connections_per_peer

    def check_nowait(self, method: str, path: str, peer: str, headers: dict[str, str]) -> Verdict | None:
        """``check`` when it needs no wait; None, with nothing counted, when the shared (Redis)
        limiter is to be asked."""
        ip = client_ip(peer, [headers["x-forwarded-for"]] if "x-forwarded-for" in headers else [], self.trusted)
        origin = headers.get("origin")
        if method == "OPTIONS" and "access-control-request-method" in headers:
            return Verdict(ip, [], self.cors.preflight(origin))
        if self.limiter.limit and counts(method, path):
            decision = self.limiter.decide_nowait(ip)
            return None if decision is None else self._limited(ip, origin, decision)
        return Verdict(ip, self.cors.headers(origin))

    async def check(self, method: str, path: str, peer: str, headers: dict[str, str]) -> Verdict:
        verdict = self.check_nowait(method, path, peer, headers)
        if verdict is not None:
            return verdict
        ip = client_ip(peer, [headers["x-forwarded-for"]] if "x-forwarded-for" in headers else [], self.trusted)
        return self._limited(ip, headers.get("origin"), await self.limiter.decide(ip))

    def _limited(self, ip: str, origin: str | None, decision: Decision) -> Verdict:
        extra = [*self.cors.headers(origin), *limit_headers(decision)]
        if not decision.allowed:
            return Verdict(ip, extra, error_answer(
                429, "rate_limited", f"more than {self.limiter.limit} requests per minute from your "
                                     f"address; retry in {decision.retry_after_s} s"))
        return Verdict(ip, extra)

    async def recount(self, ip: str) -> str | None:
        """Count one more request from ``ip`` outside HTTP (a WebSocket re-subscription): None when
        allowed, else why not."""
        if not self.limiter.limit:
            return None
        decision = await self.limiter.decide(ip)
        return None if decision.allowed else (f"more than {self.limiter.limit} requests per minute from your "
                                              f"address; retry in {decision.retry_after_s} s")

    async def aclose(self) -> None:
        await self.limiter.aclose()
