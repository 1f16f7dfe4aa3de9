"""Web Push's cryptography, with ``cryptography`` (OpenSSL) and nothing written by hand beyond the framing.

    encrypt(plaintext, p256dh, auth)   RFC 8291: the ``aes128gcm`` body (RFC 8188) for one browser
    Vapid                              RFC 8292: the deployment's P-256 key; ``authorization(endpoint)``
                                       is the ``vapid t=<JWT>, k=<key>`` header for the endpoint's origin
    check_keys(p256dh, auth)           a browser's keys as bytes, or ``BadKeys`` saying what is wrong

RFC 8291 in short: an ephemeral P-256 key per message; ECDH with the browser's key; HKDF keyed by
the browser's 16-byte auth secret over ``"WebPush: info\\0" ‖ ua_public ‖ as_public`` gives the input
key; a random salt and HKDF give the AES-128-GCM key and nonce; one record, padded with the
delimiter 0x02; the header is salt ‖ rs ‖ idlen ‖ as_public.
"""

from __future__ import annotations

import base64
import os
import time
from urllib.parse import urlsplit

import attrs
import jwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

RECORD_SIZE = 4096
HEADER = 16 + 4 + 1 + 65  # salt, rs, idlen, the sender's public key
TAG = 16
# a push service takes at most 4096 bytes of body (RFC 8030 §7.2): header, tag and the delimiter leave this
MAX_PLAINTEXT = RECORD_SIZE - HEADER - TAG - 1
JWT_LIFETIME = 12 * 3600  # RFC 8292 allows up to 24 h; a token is reused until an hour before it ends
_CURVE = ec.SECP256R1()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    """Base64url with or without padding (browsers hand it in without); ValueError when it is not."""
    if not isinstance(text, str) or not text.isascii():
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class BadKeys(ValueError):
    """A subscription's keys cannot be used; ``str()`` names the key and what it must be."""


def check_keys(p256dh: object, auth: object) -> tuple[bytes, bytes]:
    try:
        point = unb64url(p256dh) if isinstance(p256dh, str) else b""
    except ValueError:
        point = b""
    if len(point) != 65 or point[0] != 4:
        raise BadKeys("keys.p256dh: must be the browser's P-256 public key, 65 bytes uncompressed, base64url "
                      "(PushSubscription.toJSON().keys.p256dh)")
    try:
        ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, point)
    except ValueError:
        raise BadKeys("keys.p256dh: is not a point on P-256") from None
    try:
        secret = unb64url(auth) if isinstance(auth, str) else b""
    except ValueError:
        secret = b""
    if len(secret) != 16:
        raise BadKeys("keys.auth: must be the 16-byte authentication secret, base64url "
                      "(PushSubscription.toJSON().keys.auth)")
    return point, secret


def _hkdf(salt: bytes, ikm: bytes, info: bytes, length: int) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=length, salt=salt, info=info).derive(ikm)


def encrypt(plaintext: bytes, p256dh: bytes, auth: bytes, *, salt: bytes | None = None,
            sender: ec.EllipticCurvePrivateKey | None = None) -> bytes:
    """The ``Content-Encoding: aes128gcm`` body of ``plaintext`` for the browser holding ``p256dh``/``auth``."""
    if len(plaintext) > MAX_PLAINTEXT:
        raise ValueError(f"a push message holds at most {MAX_PLAINTEXT} bytes, got {len(plaintext)}")
    sender = sender or ec.generate_private_key(_CURVE)  # ephemeral: one per message
    salt = salt or os.urandom(16)
    as_public = sender.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)
    shared = sender.exchange(ec.ECDH(), ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, p256dh))
    ikm = _hkdf(auth, shared, b"WebPush: info\x00" + p256dh + as_public, 32)
    key = _hkdf(salt, ikm, b"Content-Encoding: aes128gcm\x00", 16)
    nonce = _hkdf(salt, ikm, b"Content-Encoding: nonce\x00", 12)
    sealed = AESGCM(key).encrypt(nonce, plaintext + b"\x02", None)
    return salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public + sealed


def audience(endpoint: str) -> str:
    """The JWT's ``aud``: the endpoint's origin (scheme://host[:port])."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


@attrs.define(eq=False)
class Vapid:
    """The deployment's VAPID key and a token per push service origin, reused while it is fresh."""

    private_key: ec.EllipticCurvePrivateKey
    contact: str  # the JWT's ``sub``: mailto: or https: (RFC 8292 §2.1)
    _tokens: dict[str, tuple[str, float]] = attrs.field(factory=dict)

    @classmethod
    def generate(cls, contact: str) -> Vapid:
        return cls(ec.generate_private_key(_CURVE), contact)

    @classmethod
    def from_scalar(cls, scalar: bytes, contact: str) -> Vapid:
        return cls(ec.derive_private_key(int.from_bytes(scalar, "big"), _CURVE), contact)

    @property
    def scalar(self) -> bytes:
        return self.private_key.private_numbers().private_value.to_bytes(32, "big")

    @property
    def public_key(self) -> bytes:
        """The uncompressed point: the page's ``applicationServerKey``."""
        return self.private_key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def authorization(self, endpoint: str, now: float | None = None) -> str:
        aud = audience(endpoint)
        now = time.time() if now is None else now
        token, expires = self._tokens.get(aud, ("", 0.0))
        if expires - now < 3600:
            expires = now + JWT_LIFETIME
            token = jwt.encode({"aud": aud, "exp": int(expires), "sub": self.contact}, self.private_key,
                               algorithm="ES256", headers={"typ": "JWT"})
            self._tokens[aud] = (token, expires)
        return f"vapid t={token}, k={b64url(self.public_key)}"
