"""Injected upstream trouble: which response a fault breaks, and what it sends instead."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import attrs
import trio

from vibed.simulator import hostile
from vibed.simulator.settings import ERROR_BODIES, Fault

HTML_BLOCK_PAGE = (
    b"<HTML><HEAD>\n<TITLE>Access Denied</TITLE>\n</HEAD><BODY>\n<H1>Access Denied</H1>\n"
    b"You don't have permission to access this server.<P>\nReference&#32;&#35;18&#46;5c1d3e17\n</BODY>\n</HTML>\n"
)
ERROR_JSON: dict[str, Any] = {
    "status_failure": {"status": "failure", "message": "Unable to process the request"},
    "error": {"error": {"code": "API_ERROR", "msg": "Something went wrong, please try again"}},
    "login_required": {"code": "LOGIN_REQUIRED", "msg": "Please login to continue"},
    "empty_list": [],
}
EMPTY = {"jiosaavn": {"count": 0, "last_page": True, "data": []}}


@attrs.frozen
class Canned:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    drip: float = 0.0  # > 0: send the body in small chunks this many seconds apart


@attrs.define(eq=False)
class _Armed:
    fault: Fault
    left: int | None  # responses still to break; None = until cleared


@attrs.define(eq=False)
class FaultBook:
    """Active faults in insertion order; the first match breaks a response and uses up one count."""

    _armed: list[_Armed] = attrs.field(factory=list)
    _variants_served: int = 0

    def add(self, fault: Fault) -> None:
        self._armed.append(_Armed(fault, fault.count))

    def clear(self) -> None:
        self._armed.clear()

    def active(self) -> list[dict[str, Any]]:
        return [attrs.asdict(armed.fault) | {"remaining": armed.left} for armed in self._armed]

    def take(self, source: str, scope: str, *, named_only: bool = False) -> Fault | None:
        """The first fault for (``source``, ``scope``); ``named_only``: only one naming ``scope`` itself
        (Spotify's token endpoint: ``"scope": "token"``, never broken by a fault meant for every market)."""
        for armed in self._armed:
            fault = armed.fault
            if fault.source not in (None, source) or fault.scope not in ((scope,) if named_only else (None, scope)):
                continue
            if fault.kind == "spotify_removed" and source != "spotify":
                continue
            if armed.left is not None:
                armed.left -= 1
                if armed.left == 0:
                    self._armed.remove(armed)
            return fault
        return None

    async def respond(self, fault: Fault, source: str, normal: Callable[[], bytes], *,
                      empty: Any = None) -> Canned:
        """What the broken response looks like; ``normal`` renders the unbroken body (``empty``: its empty form)."""
        kind = fault.kind
        if kind == "slow":
            await trio.sleep(fault.delay)
            return Canned(200, normal())
        if kind == "drip":
            return Canned(200, normal(), drip=fault.delay)
        if kind == "hostile":
            return Canned(200, hostile.poison(normal(), source))
        if kind == "cookies":  # the normal answer setting 100 cookies of new names (a jar would keep them all)
            self._variants_served += 1
            jar = tuple(("Set-Cookie", f"c{self._variants_served}x{n}={'v' * 100}; Path=/") for n in range(100))
            return Canned(200, normal(), headers=jar)
        if kind == "crosslisted" and source == "jiosaavn":
            return Canned(200, hostile.crosslisted(normal()))
        if kind == "flood":
            return Canned(200, hostile.flood(normal(), source))
        if kind == "huge":
            return Canned(200, hostile.pad(normal()))
        if kind == "gzip_bomb":
            return Canned(200, hostile.inflating(normal()), headers=(("Content-Encoding", "gzip"),))
        if kind == "mislabelled":  # the normal JSON, labelled as a web page (as PHP's default header does)
            return Canned(200, normal(), "text/html; charset=UTF-8")
        if kind == "token_expiry":  # the token answer as usual, its lifetime replaced (NaN, "3600", 1e308, -5)
            token = json.loads(normal())
            return Canned(200, json_bytes({**token, "expires_in": fault.expires_in}))
        if kind == "gzip_lie":  # says gzip, sends the plain body: a decoder must fail, not guess
            return Canned(200, normal(), headers=(("Content-Encoding", "gzip"),))
        if kind == "redirect":  # to another host, e.g. a captive portal or a geo-block page
            return Canned(fault.status or 302, b"", "text/html",
                          headers=(("Location", "http://elsewhere.invalid/blocked"),))
        if kind == "truncated":
            body = normal()
            return Canned(200, body[: max(1, len(body) // 2)])
        if kind == "html":
            return Canned(fault.status or 200, HTML_BLOCK_PAGE, "text/html")
        if kind == "empty":
            if empty is None:
                empty = EMPTY.get(source, {"albums": {"items": [], "total": 0, "next": None, "offset": 0, "limit": 50}})
            return Canned(200, json_bytes(empty))
        if kind == "error_json":
            variant = fault.variant or ERROR_BODIES[self._variants_served % len(ERROR_BODIES)]
            self._variants_served += 1
            return Canned(200, json_bytes(ERROR_JSON[variant]))
        status = {"status_429": 429, "status_5xx": 503, "spotify_removed": 403}.get(kind, 0)
        status = fault.status or status
        error: dict[str, Any] = {"status": status, "message": _MESSAGES.get(status, "Simulated failure")}
        if fault.reason:
            error["reason"] = fault.reason
        headers = () if fault.retry_after is None else (("Retry-After", _header(fault.retry_after)),)
        return Canned(status, json_bytes({"error": error}), headers=headers)


_MESSAGES = {403: "Forbidden", 404: "Not found", 429: "API rate limit exceeded", 503: "Service unavailable"}


def _header(value: float | str) -> str:
    if isinstance(value, str):
        return value
    return str(int(value)) if float(value).is_integer() else str(value)


def json_bytes(value: Any) -> bytes:
    text = json.dumps(value, ensure_ascii=False)
    try:
        return text.encode()
    except UnicodeEncodeError:  # a lone surrogate asked for (a hostile 429 reason): sent as JSON escapes it
        return json.dumps(value).encode()
