"""Loopback authority: what a request without a token must show to act as this machine's operator.

Without ``JWT_SECRET`` the control endpoints answer a direct loopback client (``control.py``).
A loopback peer is not enough on its own: a web page open in a browser on this machine is one
too, and a browser sends what the page asks.  So loopback authority also needs:

- a local ``Host`` (``localhost``, 127.0.0.0/8, ``[::1]``, or the name configured in ``VIBED_HOST``
  or ``VIBED_PUBLIC_URL``; any port), so
  a page that reached us by DNS rebinding (its own name now resolving to 127.0.0.1) is refused;
- no ``Origin`` other than the request's own (``http://<Host>``): browsers send ``Origin`` on
  every POST and DELETE and on cross-origin reads, so a page elsewhere (another port included)
  is refused before it can poke, subscribe, or read a webhook URL through a CORS answer;
- no ``Sec-Fetch-Site`` of ``cross-site`` or ``same-site``.

``json_problem`` holds for every mutating request, token or not: a body is JSON and says so
(``Content-Type: application/json``).  ``text/plain``, form and multipart bodies are what a
page may send without a CORS preflight; ``application/json`` is not.
"""

from __future__ import annotations

from typing import Protocol

from vibed.vocab.client_ip import parse_address

MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REFUSED_FETCH_SITES = frozenset({"cross-site", "same-site"})
JSON_TYPES = frozenset({"application/json"})


class Headers(Protocol):
    """Case-insensitive request headers (werkzeug's ``Headers``)."""

    def get(self, key: str) -> str | None: ...


def host_name(host: str) -> str:
    """``Host`` without its port: ``[::1]:5006`` → ``::1``, ``localhost:5006`` → ``localhost``."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:host.find("]")] if "]" in host else host
    name, colon, port = host.rpartition(":")
    return name if colon and port.isdigit() else host


WILDCARDS = frozenset({"", "0.0.0.0", "::"})  # a bind address, never a name a request is sent to


def local_host(host: str | None, configured: tuple[str, ...]) -> bool:
    """``host`` names this machine: localhost, a loopback address, or a configured name of it."""
    if not host:
        return False
    name = host_name(host).rstrip(".")
    names = {c.strip("[]").lower().rstrip(".") for c in configured} - WILDCARDS
    if name == "localhost" or name in names:
        return True
    ip = parse_address(name)
    return ip is not None and ip.is_loopback


def loopback_problem(headers: Headers, configured: tuple[str, ...]) -> str | None:
    """Why a loopback request without a token may not act, or None.  ``headers`` are case-insensitive."""
    host = headers.get("Host")
    if not local_host(host, configured):
        return (f"Host {str(host)[:100]!r} is not this machine: without JWT_SECRET control endpoints answer only "
                "requests addressed to localhost, a loopback address, VIBED_HOST or VIBED_PUBLIC_URL's host")
    origin = headers.get("Origin")
    if origin is not None and origin.rstrip("/").lower() != f"http://{host}".lower():
        return (f"Origin {origin[:100]!r} is another site: without JWT_SECRET control endpoints answer no web "
                "page but their own; set JWT_SECRET and send a Bearer token")
    fetch_site = (headers.get("Sec-Fetch-Site") or "").strip().lower()
    if fetch_site in REFUSED_FETCH_SITES:
        return (f"Sec-Fetch-Site: {fetch_site}: without JWT_SECRET control endpoints answer no other site's "
                "page; set JWT_SECRET and send a Bearer token")
    return None


def json_problem(method: str, headers: Headers) -> str | None:
    """Why a mutating request's body is refused (it is not declared JSON), or None."""
    if method not in MUTATING:
        return None
    length = headers.get("Content-Length")
    has_body = bool(headers.get("Transfer-Encoding")) or (length is not None and length.strip() not in ("", "0"))
    if not has_body:
        return None
    media = (headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if media in JSON_TYPES:
        return None
    return (f"Content-Type {media or 'missing'!r}: a request body must be JSON sent as "
            "'Content-Type: application/json'")
