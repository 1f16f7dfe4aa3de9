"""The listing's opaque ``cursor``: the last row's ``SortKey``, tagged, in base64url.

    cursor = b64url("2026-03-01|1767225600123456|4812") "." b64url(tag)

The tag is not there to keep anything secret (the listing is public, and a made-up position
only skips to another part of it); it turns a forged, truncated or hand-edited cursor into a
clean 400 before any SQL runs.  Its key is random, made on first start and kept in the database
(``vibed.store.keys``), so every instance on the database honours a cursor any of them minted.
It is never derived from JWT_SECRET: anyone can get cursors, and a tag keyed by the control
secret would let them test guesses of that secret offline.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import re

from vibed.store.listing import SortKey
from vibed.store.postgres import Database

_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_US = dt.timedelta(microseconds=1)
_DEFAULT_KEY = b"vibed listing cursor v1"
_PAYLOAD = re.compile(r"^(\d{4}-\d{2}-\d{2})\|(-?\d{1,18})\|(\d{1,19})$")
MAX_ID = 2**63 - 1  # bigint
MAX_LENGTH = 200  # a real cursor is ~60 characters


class InvalidCursor(ValueError):
    """``str()`` says what is wrong, for the 400's detail."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    if not re.fullmatch(r"[A-Za-z0-9_-]+", text):
        raise InvalidCursor("the cursor is not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise InvalidCursor("the cursor is not base64url") from None


def _tag(payload: bytes, key: bytes) -> bytes:
    return hashlib.blake2b(payload, key=key[:64] or _DEFAULT_KEY, digest_size=12).digest()


CURSOR_KEY_NAME = "listing_cursor"


async def load_cursor_key(db: Database) -> bytes:
    """The deployment's cursor key, kept in the database (made on first use)."""
    from vibed.store.keys import daemon_key

    return await daemon_key(db, CURSOR_KEY_NAME)


def encode_cursor(key: SortKey, secret: bytes) -> str:
    micros = (key.first_seen - _EPOCH) // _US
    payload = f"{key.day.isoformat()}|{micros}|{key.id}".encode("ascii")
    return f"{_b64(payload)}.{_b64(_tag(payload, secret))}"


def decode_cursor(text: str, secret: bytes) -> SortKey:
    """The ``SortKey`` a cursor of ours carries; ``InvalidCursor`` for anything else."""
    if len(text) > MAX_LENGTH or text.count(".") != 1:
        raise InvalidCursor("the cursor is malformed: pass back next_cursor exactly as received")
    body, tag = text.split(".")
    payload = _unb64(body)
    if not hmac.compare_digest(_unb64(tag), _tag(payload, secret)):
        raise InvalidCursor("the cursor was not issued by this API (or was altered): "
                            "pass back next_cursor exactly as received")
    match = _PAYLOAD.match(payload.decode("ascii", errors="replace"))
    if match is None:
        raise InvalidCursor("the cursor is malformed: pass back next_cursor exactly as received")
    try:
        day = dt.date.fromisoformat(match[1])
        first_seen = _EPOCH + int(match[2]) * _US
    except (ValueError, OverflowError):
        raise InvalidCursor("the cursor's position is out of range") from None
    release_id = int(match[3])
    if not 0 <= release_id <= MAX_ID:
        raise InvalidCursor("the cursor's position is out of range")
    return SortKey(day, first_seen, release_id)
