"""How many connections one peer may hold open at once, counted as every per-client limit counts.

Without a cap one client could open connections until the process has no descriptor left (each
idle one is cheap for it and costs us a descriptor and a task).  A connection is counted from its
accept until its task ends: when a stream takes the socket over, the stream limit per client
(``stream_limit_per_ip``) counts it from then on, so the two caps together bound one client.

The key is the socket peer's client key (its address, or its /64 for IPv6: ``limit_key``), since
before a request is read nothing else is known.  A trusted proxy is exempt: it carries many
clients, and the limits that read ``X-Forwarded-For`` count those one by one.  A peer over the cap
gets a 429 written without its request being read (vibed/edge/server.py), and its connection closed.
"""

from __future__ import annotations

import attrs

from vibed.vocab.client_ip import Network, limit_key, parse_address

EXEMPT = ""  # the key of a connection nobody counts (a trusted proxy, or no cap)


@attrs.define(eq=False)
class PeerConnections:
    limit: int  # 0 = no cap
    open: dict[str, int] = attrs.field(factory=dict)

    def take_nowait(self, peer: str, trusted: tuple[Network, ...]) -> str | None:
        """Count one more connection from ``peer``: its key (``EXEMPT`` when not counted), or None
        when the peer already holds ``limit`` connections."""
        if not self.limit:
            return EXEMPT
        addr = parse_address(peer)
        if addr is not None and any(addr in net for net in trusted):
            return EXEMPT
        key = limit_key(str(addr) if addr is not None else peer)
        held = self.open.get(key, 0)
        if held >= self.limit:
            return None
        self.open[key] = held + 1
        return key

    def give_back_nowait(self, key: str) -> None:
        """The connection counted under ``key`` ended, or a stream owns it now."""
        if key == EXEMPT:
            return
        left = self.open.get(key, 1) - 1
        if left > 0:
            self.open[key] = left
        else:
            self.open.pop(key, None)
