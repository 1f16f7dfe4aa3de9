"""Small parsers for setting values; each raises ValueError with the fix in the message.

The message completes a sentence that starts with ``KEY='value'``, e.g.
``PORT='abc' is not a port number: use a whole number from 0 to 65535``.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Literal, get_args
from urllib.parse import urlsplit

Role = Literal["all", "fetch", "serve"]  # what one process runs (vibed/roles.py)
ROLES: tuple[Role, ...] = get_args(Role)
Polling = Literal["adaptive", "cron"]


def parse_int(value: str, *, low: int, high: int, what: str = "a whole number") -> int:
    try:
        number = int(value.strip())
    except ValueError:
        raise ValueError(f"is not {what}: use a whole number from {low} to {high}") from None
    if not low <= number <= high:
        raise ValueError(f"is out of range: use a whole number from {low} to {high}")
    return number


def parse_float(value: str, *, low: float, high: float) -> float:
    try:
        number = float(value.strip())
    except ValueError:
        raise ValueError(f"is not a number: use a number from {low:g} to {high:g}") from None
    if not low <= number <= high:
        raise ValueError(f"is out of range: use a number from {low:g} to {high:g}")
    return number


def parse_bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("", "0", "false", "no", "off"):
        return False
    raise ValueError("is not a boolean: use true or false")


def parse_csv(value: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in value.split(",") if part.strip())


def parse_languages(value: str) -> tuple[str, ...]:
    from vibed.vocab.languages import LANGUAGES  # the one map of codes to JioSaavn names

    codes = tuple(dict.fromkeys(code.lower() for code in parse_csv(value)))
    if not codes:
        raise ValueError(f"names no language: use comma-separated codes from {', '.join(LANGUAGES)}")
    unknown = [code for code in codes if code not in LANGUAGES]
    if unknown:
        raise ValueError(
            f"has unknown language code {unknown[0]!r}: use codes from {', '.join(LANGUAGES)}"
        )
    return codes


def parse_markets(value: str) -> tuple[str, ...]:
    markets = tuple(m.upper() for m in parse_csv(value))
    bad = [m for m in markets if not re.fullmatch(r"[A-Z]{2}", m)]
    if bad or not markets:
        raise ValueError("is not a list of two-letter country codes: use e.g. IN or IN,US")
    return markets


def parse_url(value: str) -> str:
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("is not an http(s) URL: use e.g. https://www.jiosaavn.com")
    return value.strip().rstrip("/")


def parse_cron(value: str) -> str:
    from croniter import croniter

    expr = " ".join(value.split())
    # five fields, or six with croniter's trailing seconds field ("* * * * * */15": every 15 s)
    if len(expr.split()) not in (5, 6) or not croniter.is_valid(expr):
        raise ValueError("is not a 5-field cron expression: use e.g. '*/10 * * * *' or '0 * * * *'")
    return expr


def parse_duration(value: str) -> float:
    """'90', '90s', '15m', '1h', '2d' -> seconds."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", value)
    if not match:
        raise ValueError("is not a duration: use e.g. 30s, 15m, 1h or 1d")
    number, unit = float(match[1]), match[2] or "s"
    return number * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


def parse_cidrs(value: str) -> tuple[str, ...]:
    """'127.0.0.0/8, ::1/128' -> normalised networks ('10.1.2.3' = a /32)."""
    out: list[str] = []
    for part in parse_csv(value):
        try:
            out.append(str(ipaddress.ip_network(part, strict=False)))
        except ValueError:
            raise ValueError(f"has {part[:60]!r}, which is not a network: use e.g. 127.0.0.0/8,10.0.0.0/8") from None
    return tuple(out)


def parse_schedule(value: str) -> tuple[float, ...]:
    """'5s,30s,2m' -> (5.0, 30.0, 120.0): at least one wait, each at most a day."""
    waits = tuple(parse_duration(part) for part in parse_csv(value))
    if not waits or any(w <= 0 or w > 86400 for w in waits):
        raise ValueError("is not a retry schedule: use comma-separated waits from 0.1s to 1d, e.g. 5s,1m,10m,1h")
    return waits


def parse_role(value: str) -> Role:
    role = value.strip().lower()
    for known in ROLES:
        if role == known:
            return known
    raise ValueError("is not a role: use all (everything), fetch (scheduler, fetchers, writer) or serve "
                     "(HTTP, streams; needs REDIS_URL)")
