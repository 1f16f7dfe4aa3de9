"""Who the client is: the socket's peer, or, behind a trusted proxy, the right-most untrusted hop.

``X-Forwarded-For: spoofed, client, proxy1`` arriving from proxy2: every proxy *appends* the
address it received from, so only the entries written by proxies we trust are believable.
Walking from the right and skipping trusted proxies, the first other address is the client;
anything further left was written by the client itself and is ignored.
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(entries: Iterable[str]) -> tuple[Network, ...]:
    """``VIBED_TRUSTED_PROXIES`` entries: addresses or CIDR networks, checked by the configuration
    (a bad entry stops start-up there), so one here raises ``ValueError``."""
    return tuple(ipaddress.ip_network(entry.strip(), strict=False) for entry in entries)


def parse_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """A peer or hop as an address (port, brackets and zone dropped; IPv4-mapped as IPv4), or None."""
    text = text.strip()
    if text.startswith("[") and "]" in text:  # "[2001:db8::1]:443"
        text = text[1:text.index("]")]
    elif text.count(":") == 1:  # "203.0.113.7:5123"
        text = text.split(":")[0]
    try:
        addr = ipaddress.ip_address(text.split("%")[0])
    except ValueError:
        return None
    # a dual-stack socket (VIBED_HOST=::) shows an IPv4 peer as ::ffff:a.b.c.d; IPv4 networks must match it
    return addr.ipv4_mapped or addr if isinstance(addr, ipaddress.IPv6Address) else addr


def _trusted(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, trusted: tuple[Network, ...]) -> bool:
    return any(addr in net for net in trusted)


def client_ip(peer: str | None, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address as text (``"unknown"`` when the server was given none)."""
    if not trusted and peer:
        return peer  # the kernel's own text for the peer: nothing to believe or normalise
    addr = parse_address(peer or "")
    if addr is None:
        return peer or "unknown"
    if not trusted or not _trusted(addr, trusted):
        return str(addr)
    hops = [hop for header in forwarded_for for hop in header.split(",")]
    for hop in reversed(hops):
        hop_addr = parse_address(hop)
        if hop_addr is None:  # a trusted proxy would not write garbage: stop at the last good hop
            break
        if not _trusted(hop_addr, trusted):
            return str(hop_addr)
        addr = hop_addr
    return str(addr)


@functools.lru_cache(maxsize=8192)  # asked once per request; a client's key never changes
def limit_key(ip: str) -> str:
    """The rate-limit key of a client: its address, or its /64 for IPv6 (one host gets a whole /64)."""
    try:
        addr = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return str(addr.ipv4_mapped)
        return str(ipaddress.ip_network(f"{addr}/64", strict=False))
    return str(addr)
