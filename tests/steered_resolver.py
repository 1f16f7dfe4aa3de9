"""A Trio hostname resolver a test steers (no tests here): one name answers the addresses the test gives.

Installed with ``trio.socket.set_custom_hostname_resolver``, it is the real hook every Trio lookup in the
run goes through (the daemon's vetting of webhook and notification target hosts included).  ``name``
answers each of ``answers`` in turn, then ``then`` for ever; any other name is the system's.
"""

from __future__ import annotations

import socket

import trio


class SteeredResolver(trio.abc.HostnameResolver):
    def __init__(self, name: bytes, *answers: str, then: str) -> None:
        self.name = name
        self.answers = list(answers)
        self.then = then
        self.asked = 0

    async def getaddrinfo(self, host, port, family=0, type=0, proto=0, flags=0):  # type: ignore[no-untyped-def]
        if host != self.name:
            return await trio.to_thread.run_sync(socket.getaddrinfo, host, port, family, type, proto, flags)
        self.asked += 1
        address = self.answers.pop(0) if self.answers else self.then
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, int(port or 0)))]

    async def getnameinfo(self, sockaddr, flags):  # type: ignore[no-untyped-def]
        return await trio.to_thread.run_sync(socket.getnameinfo, sockaddr, flags)
