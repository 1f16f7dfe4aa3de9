"""Where a notification target's message may go: the SSRF rules of every sender, at creation and at send time.

A self-hosted service's URL (json://, form://, ntfy://, gotify:// …: ``SELF_HOSTED``) names a host the
daemon connects to itself.  ``vet`` resolves that host and checks every address by the webhooks' rules
(vibed/outbox/reach.py: public addresses only, unless ``VIBED_WEBHOOK_ALLOW_CIDRS`` allows a network);
the API calls it when a target is made, the sender before every message.  A refusal is
``RefusedTarget``, whose text names the address and the setting, never the URL.

Apprise resolves the host again when it connects, so a check alone would leave a window: a name that
answers a public address to the check and a private one to Apprise (DNS rebinding).  ``pinned`` closes
it as ``VettedBackend`` does for webhooks: while the Apprise thread sends, its lookups of the vetted host
answer the vetted address, and a lookup of any other host (a redirect, a proxy) is refused.  The hook
is ``socket.getaddrinfo`` wrapped once (``install_pinning``), reading a context variable (Apprise may
send from its own executor thread, under a copy of the caller's context); every other caller sees the
system's resolver unchanged.
"""

from __future__ import annotations

import contextlib
import contextvars
import socket
from collections.abc import Iterator
from typing import Any

import attrs

from vibed.outbox.reach import RefusedTarget, TargetRules, resolve, vetted
from vibed.targets.urls import BadTargetUrl, destination

# services whose host is whatever the URL says: the daemon itself connects there
SELF_HOSTED = frozenset({"json", "jsons", "form", "forms", "xml", "xmls", "ntfy", "ntfys", "gotify", "gotifys",
                         "apprise", "apprises", "mmost", "mmosts", "rocket", "rockets", "matrix", "matrixs"})

_system_getaddrinfo = socket.getaddrinfo


@attrs.frozen
class Pin:
    """The host a message goes to, and the address it was vetted at."""

    host: str
    address: str


# a context variable, not a thread-local: Apprise may run the send in its own executor thread, under a copy
# of the calling context (apprise.Apprise._notify_sequential with a service timeout)
_pin: contextvars.ContextVar[Pin | None] = contextvars.ContextVar("vibed_target_pin", default=None)


async def vet(url: str, rules: TargetRules) -> Pin | None:
    """The vetted address of a self-hosted service's host; None for a service Apprise reaches at a fixed
    place (Telegram, Discord, mail …, ntfy.sh for ``ntfy://topic``).  Raises ``RefusedTarget``."""
    scheme = url.partition("://")[0].lower()
    if scheme not in SELF_HOSTED:
        return None
    try:
        where = destination(url)  # as Apprise reads it: ``ntfy://my-topic`` names a topic on ntfy.sh, no host
    except BadTargetUrl:
        raise RefusedTarget(f"Apprise cannot read the host of this {scheme}:// URL") from None
    if where is None:
        return None
    host, port = where
    return Pin(host.lower(), str(vetted(await resolve(host, port or 443), rules)))


@contextlib.contextmanager
def pinned(pin: Pin | None) -> Iterator[None]:
    """In the sending thread: lookups of ``pin.host`` answer ``pin.address``; any other host is refused."""
    token = _pin.set(pin)
    try:
        yield
    finally:
        _pin.reset(token)


def _pinned_getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
    pin = _pin.get()
    if pin is None:
        return _system_getaddrinfo(host, port, *args, **kwargs)
    name = host.decode("idna") if isinstance(host, bytes) else str(host)
    if name.strip("[]").lower() not in (pin.host, pin.address):
        raise socket.gaierror(socket.EAI_NONAME, "refused: only the target's vetted host may be reached")
    return _system_getaddrinfo(pin.address, port, *args, **kwargs)


def install_pinning() -> None:
    """Wrap ``socket.getaddrinfo`` once, so ``pinned`` takes effect (the sender calls it as it starts)."""
    if socket.getaddrinfo is not _pinned_getaddrinfo:
        socket.getaddrinfo = _pinned_getaddrinfo
