"""Which targets a sender may reach (server-side request forgery rules): webhooks, Web Push, and the
notification targets whose host the daemon connects to itself (vibed/targets/reach.py).

A subscriber chooses the URL, so without rules a subscription could make the daemon POST to
its own loopback services, the LAN or a cloud metadata endpoint.  The rules:

- ``https`` only (``VIBED_WEBHOOK_ALLOW_HTTP=true`` also allows ``http``);
- every address the host resolves to, *when the connection is made*, must be public: not
  loopback, private, link-local (169.254.169.254 and friends), shared, multicast, reserved or
  unspecified — unless it lies in ``VIBED_WEBHOOK_ALLOW_CIDRS``;
- an IPv6 address that carries an IPv4 address (``EMBEDDING``: mapped, compatible, translated,
  NAT64, 6to4, Teredo, ISATAP) is refused whatever IPv4 it carries: the network may deliver it
  to that IPv4 (a 6to4 relay, a NAT64 gateway, a dual-stack socket), which no IPv6 rule sees;
- the connection goes to the address that was checked (``VettedBackend``), so a DNS answer
  that changes between check and connect (rebinding) gains nothing;
- redirects are never followed (``send.py``): a 3xx is a failed attempt.

``url_problem`` checks what can be known at subscription time (scheme, literal addresses).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import urlsplit

import attrs
import httpcore
import trio

from vibed.config import Config

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL = 2000
EMBEDDING: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(net), name) for net, name in (
        ("::ffff:0:0/96", "IPv4-mapped"), ("::/96", "IPv4-compatible"),
        ("::ffff:0:0:0/96", "IPv4-translated (SIIT)"), ("64:ff9b::/96", "NAT64"),
        ("64:ff9b:1::/48", "local-use NAT64"), ("2002::/16", "6to4"), ("2001::/32", "Teredo")))
_ISATAP = 0x0000_5EFE  # interface id 0:5efe:a.b.c.d (or 200:5efe:…, the u bit set) under any prefix


class RefusedTarget(Exception):
    """The target may not be sent to; ``str()`` says why and which setting would allow it."""


@attrs.frozen
class TargetRules:
    allow_http: bool = False
    allow_cidrs: tuple[str, ...] = ()

    @property
    def networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        return tuple(ipaddress.ip_network(c, strict=False) for c in self.allow_cidrs)

    @classmethod
    def of(cls, config: Config) -> TargetRules:
        return cls(allow_http=config.webhook_allow_http, allow_cidrs=tuple(config.webhook_allow_cidrs))


def embedded_ipv4(ip: IPAddress) -> str | None:
    """The name of the IPv4-embedding range ``ip`` lies in, or None."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return None
    if ip == ipaddress.IPv6Address("::1") or ip == ipaddress.IPv6Address("::"):
        return None  # inside ::/96, but loopback and unspecified say more
    for net, name in EMBEDDING:
        if ip in net:
            return name
    return "ISATAP" if (int(ip) >> 32) & 0xFDFF_FFFF == _ISATAP else None


def address_problem(ip: IPAddress, rules: TargetRules) -> str | None:
    """Why ``ip`` may not be sent to, or None."""
    if any(ip in net for net in rules.networks):
        return None
    embedding = embedded_ipv4(ip)
    if embedding is not None:
        return (f"{ip} is {embedding}, an IPv6 address that carries an IPv4 one: targets must be "
                "plain public addresses (VIBED_WEBHOOK_ALLOW_CIDRS allows a network)")
    for test, what in ((ip.is_unspecified, "unspecified"), (ip.is_loopback, "loopback"),
                       (ip.is_link_local, "link-local (cloud metadata)"), (ip.is_private, "private"),
                       (ip.is_multicast, "multicast"), (ip.is_reserved, "reserved"),
                       (not ip.is_global, "not a public address")):
        if test:
            return (f"{ip} is {what}: targets must be public addresses "
                    "(VIBED_WEBHOOK_ALLOW_CIDRS allows a network)")
    return None


def url_problem(url: str, rules: TargetRules) -> str | None:
    """What is wrong with ``url`` as a target before any DNS lookup, or None."""
    if len(url) > MAX_URL:
        return f"url: longer than {MAX_URL} characters"
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "url: not a valid URL"
    allowed = ("https", "http") if rules.allow_http else ("https",)
    if parts.scheme not in allowed:
        return ("url: must be https:// (VIBED_WEBHOOK_ALLOW_HTTP=true also allows http://)"
                if not rules.allow_http else "url: must be http:// or https://")
    if not host:
        return "url: has no host"
    if port == 0:
        return "url: port 0 is not a port"
    try:
        literal = ipaddress.ip_address(host)
    except ValueError:
        return None
    problem = address_problem(literal, rules)
    return None if problem is None else f"url: {problem}"


async def resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = await trio.socket.getaddrinfo(host, port, type=trio.socket.SOCK_STREAM)
    except OSError as exc:
        raise RefusedTarget(f"{host} does not resolve: {exc.strerror or exc}") from None
    return list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))


def vetted(addresses: Sequence[IPAddress], rules: TargetRules) -> IPAddress:
    """The address to connect to, when *every* resolved address is allowed."""
    if not addresses:
        raise RefusedTarget("the host resolves to no address")
    for ip in addresses:
        problem = address_problem(ip, rules)
        if problem is not None:
            raise RefusedTarget(problem)
    return addresses[0]


class VettedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's Trio backend, connecting only to an address the rules allow (checked at connect)."""

    def __init__(self, rules: TargetRules) -> None:
        self.rules = rules
        self.inner = httpcore.TrioBackend()

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        ip = vetted(await resolve(host, port), self.rules)
        # TLS still verifies the certificate for ``host``: httpcore passes it as server_hostname
        return await self.inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)

    async def connect_unix_socket(self, path: str, timeout: float | None = None,
                                  socket_options: Iterable[Any] | None = None) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("unix sockets are never webhook targets")

    async def sleep(self, seconds: float) -> None:
        await trio.sleep(seconds)
