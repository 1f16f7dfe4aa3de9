"""How many streams may be open: ``max_streams`` overall and ``stream_limit_per_ip`` per client IP.

``max_streams`` 0 means "as many as file descriptors allow": the soft RLIMIT_NOFILE (the daemon
raises it to the hard limit at start) minus a reserve for the database pool, Redis, Hypercorn's
connections and the accept loop's spare descriptor.
"""

from __future__ import annotations

import resource

import attrs

FD_RESERVE = 300


def fd_stream_limit(reserve: int = FD_RESERVE) -> int:
    soft, _hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        soft = 1_048_576
    return max(1, soft - reserve)


@attrs.define(eq=False)
class Admission:
    max_streams: int
    per_ip: int = 0  # 0 = no per-IP limit
    open: int = 0
    by_ip: dict[str, int] = attrs.field(factory=dict)

    @classmethod
    def from_config(cls, max_streams: int, per_ip: int) -> Admission:
        return cls(max_streams or fd_stream_limit(), per_ip)

    def admit_nowait(self, ip: str) -> str | None:
        """Take a slot; returns None, or why not (the 503 detail)."""
        if self.max_streams == 0:
            return "this process takes no streams (it runs the fetch role): open streams on a serve process"
        if self.open >= self.max_streams:
            return f"the server holds its maximum of {self.max_streams} streams"
        if self.per_ip and self.by_ip.get(ip, 0) >= self.per_ip:
            return f"{ip} already holds {self.per_ip} streams"
        self.open += 1
        self.by_ip[ip] = self.by_ip.get(ip, 0) + 1
        return None

    def release_nowait(self, ip: str) -> None:
        self.open -= 1
        left = self.by_ip.get(ip, 1) - 1
        if left > 0:
            self.by_ip[ip] = left
        else:
            self.by_ip.pop(ip, None)
