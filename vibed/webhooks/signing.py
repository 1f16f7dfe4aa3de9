"""Standard Webhooks signatures (https://www.standardwebhooks.com/).

The secret is ``whsec_`` + base64 of random bytes; the signature is
``v1,`` + base64(HMAC-SHA256(secret bytes, f"{webhook-id}.{webhook-timestamp}.{body}")).  Checked
against the specification's published test vector and the ``standardwebhooks`` verifier
(tests/test_webhook_signing.py).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SECRET_BYTES = 32


def new_secret() -> str:
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(PREFIX))


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = msg_id.encode() + b"." + str(timestamp).encode() + b"." + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(secret: str, msg_id: str, timestamp: int, body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"webhook-id", msg_id.encode()), (b"webhook-timestamp", str(timestamp).encode()),
            (b"webhook-signature", sign(secret, msg_id, timestamp, body).encode())]
