"""A local push service for tests: the webhook receiver's real socket, with a browser's keys behind it.

    async with open_push_service() as push:       # http://127.0.0.1:<port>/push/<name> per browser
        browser = push.browser("a")               # a P-256 key pair and an auth secret, as a browser makes
        body = browser.subscription()             # PushSubscription.toJSON(): {endpoint, keys: {p256dh, auth}}
        ...; await push.wait_for(3)
        push.messages["a"]                        # what browser "a" decrypted, in arrival order

Every request is checked as a push service and the browser would: the VAPID ``Authorization``
(``vapid t=<JWT>, k=<key>``) must verify with the ``k`` key and the deployment's VAPID public key
(``expect_key``), with ``aud`` the service's origin and an ``exp`` within 24 h; the body is
decrypted with the browser's private key by ``http_ece`` (an implementation that is not vibed's).
A request that fails a check is answered 400 and recorded in ``rejected``.  ``answer`` chooses the
status of an accepted message (default 201), e.g. 410 for a browser that unsubscribed.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable

import attrs
import http_ece
import jwt
import trio
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.webhook_receiver import Received, Receiver


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@attrs.define(eq=False)
class Browser:
    name: str
    endpoint: str
    key: ec.EllipticCurvePrivateKey = attrs.field(factory=lambda: ec.generate_private_key(ec.SECP256R1()))
    auth: bytes = attrs.field(factory=lambda: os.urandom(16))

    @property
    def p256dh(self) -> bytes:
        return self.key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)

    def subscription(self, **filters: object) -> dict[str, object]:
        return {"endpoint": self.endpoint, "expirationTime": None,
                "keys": {"p256dh": b64url(self.p256dh), "auth": b64url(self.auth)}, **filters}


@attrs.define(eq=False)
class PushService:
    receiver: Receiver
    browsers: dict[str, Browser] = attrs.field(factory=dict)
    messages: dict[str, list[dict]] = attrs.field(factory=dict)
    headers: list[dict[str, str]] = attrs.field(factory=list)  # every accepted request's headers
    rejected: list[str] = attrs.field(factory=list)
    expect_key: bytes | None = None  # the VAPID public key every token must be signed with
    answer: Callable[[str, dict], int] = lambda name, message: 201
    _arrived: trio.Event = attrs.field(factory=trio.Event)
    count: int = 0

    @property
    def origin(self) -> str:
        return f"http://{self.receiver.host}:{self.receiver.port}"

    def browser(self, name: str) -> Browser:
        browser = Browser(name, f"{self.origin}/push/{name}")
        self.browsers[name] = browser
        self.messages[name] = []
        return browser

    def _check(self, got: Received) -> tuple[str, dict]:
        name = got.target.removeprefix("/push/")
        browser = self.browsers[name]
        scheme, _, params = got.headers["authorization"].partition(" ")
        assert scheme == "vapid", scheme
        fields = dict(p.strip().split("=", 1) for p in params.split(","))
        key = unb64url(fields["k"])
        assert self.expect_key is None or key == self.expect_key, "signed with another VAPID key"
        public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
        claims = jwt.decode(fields["t"], public, algorithms=["ES256"], audience=self.origin)
        assert claims["exp"] <= time.time() + 24 * 3600 and claims["sub"].startswith(("mailto:", "https:"))
        assert got.headers["content-encoding"] == "aes128gcm" and int(got.headers["ttl"]) >= 0
        assert got.headers["urgency"] in ("very-low", "low", "normal", "high") and len(got.body) <= 4096
        assert 0 < len(got.headers["topic"]) <= 32
        plain = http_ece.decrypt(got.body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm")
        return name, json.loads(plain)

    def _answer(self, got: Received) -> tuple[int, list[tuple[str, str]]]:
        try:
            name, message = self._check(got)
        except Exception as exc:  # noqa: BLE001 - a failed check is the answer, recorded for the test
            self.rejected.append(f"{type(exc).__name__}: {exc}")
            return 400, []
        status = self.answer(name, message)
        if 200 <= status < 300:
            self.messages[name].append(message)
            self.headers.append(got.headers)
            self.count += 1
            self._arrived.set()
        return status, []

    async def wait_for(self, count: int, timeout: float = 20.0) -> None:
        with trio.fail_after(timeout):
            while self.count < count:
                assert not self.rejected, self.rejected
                await self._arrived.wait()
                self._arrived = trio.Event()
        assert not self.rejected, self.rejected


@contextlib.asynccontextmanager
async def open_push_service() -> AsyncIterator[PushService]:
    async with trio.open_nursery() as nursery:
        receiver = Receiver(nursery)
        service = PushService(receiver)
        receiver.answer = service._answer
        await receiver.start()
        try:
            yield service
        finally:
            nursery.cancel_scope.cancel()
