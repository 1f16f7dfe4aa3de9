"""Web Push's cryptography without a daemon: RFC 8291's own example, the 4 KiB limit, the key checks."""

from __future__ import annotations

import json

import http_ece
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.push_service import Browser, b64url, unb64url
from vibed.push import message
from vibed.push.crypto import MAX_PLAINTEXT, BadKeys, Vapid, check_keys, encrypt

# RFC 8291 §5 (Push Message Encryption Example): keys, salt and the message as the RFC prints them
RFC_PLAINTEXT = b"When I grow up, I want to be a watermelon"
RFC_AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
RFC_UA_PUBLIC = "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
RFC_AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
RFC_SALT = "DGv6ra1nlYgDCS1FRnbzlw"
RFC_BODY = ("DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8"
            "wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN")


def test_the_rfc_8291_example_encrypts_to_the_rfc_bytes():
    sender = ec.derive_private_key(int.from_bytes(unb64url(RFC_AS_PRIVATE), "big"), ec.SECP256R1())
    body = encrypt(RFC_PLAINTEXT, unb64url(RFC_UA_PUBLIC), unb64url(RFC_AUTH), salt=unb64url(RFC_SALT),
                   sender=sender)
    assert b64url(body) == RFC_BODY


def test_a_huge_release_still_fits_one_push_message_and_keeps_its_title_and_link():
    release = {"title": "T" * 5000, "artists": [f"Artist {n} " + "x" * 80 for n in range(200)],
               "image": "https://c.example/" + "i" * 300, "url": "https://example.test/r/1", "language": "ml",
               "kind": "album"}
    plain = message.payload(7, release)
    assert len(plain) <= MAX_PLAINTEXT
    browser = Browser("b", "https://push.example/b")
    body = encrypt(plain, browser.p256dh, browser.auth)
    assert len(body) <= 4096  # what a push service accepts (RFC 8030 §7.2)
    got = json.loads(http_ece.decrypt(body, private_key=browser.key, auth_secret=browser.auth, version="aes128gcm"))
    assert got["title"].startswith("TTT") and got["url"] == "https://example.test/r/1" and got["event_id"] == 7
    assert got["artists"][0].startswith("Artist 0")
    with pytest.raises(ValueError, match="at most"):
        encrypt(b"x" * (MAX_PLAINTEXT + 1), browser.p256dh, browser.auth)


def test_a_vapid_token_names_the_push_service_origin_and_is_reused_while_fresh():
    vapid = Vapid.generate("mailto:ops@example.org")
    header = vapid.authorization("https://push.example:8443/wpush/v2/abc?x=1", now=1_000_000)
    token = header.split("t=", 1)[1].split(",")[0]
    key = unb64url(header.split("k=", 1)[1])
    public = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), key)
    claims = jwt.decode(token, public, algorithms=["ES256"], audience="https://push.example:8443",
                        options={"verify_exp": False})
    assert claims == {"aud": "https://push.example:8443", "exp": 1_000_000 + 12 * 3600, "sub": "mailto:ops@example.org"}
    assert vapid.authorization("https://push.example:8443/other", now=1_000_060) == header  # cached per origin
    assert vapid.authorization("https://push.example:8443/other", now=1_000_000 + 11.5 * 3600) != header
    again = Vapid.from_scalar(vapid.scalar, "mailto:ops@example.org")
    assert again.public_key == vapid.public_key  # what push_vapid keeps is the whole key


@pytest.mark.parametrize(("p256dh", "auth", "words"), [
    ("", "A" * 22, "65 bytes"), (b64url(b"\x04" + b"\x00" * 64), "A" * 22, "P-256"),
    (b64url(b"\x02" + b"\x00" * 64), "A" * 22, "65 bytes"), (None, "A" * 22, "65 bytes"),
    ("é", "A" * 22, "65 bytes"), ("GOOD", "A" * 21, "16-byte"), ("GOOD", 16, "16-byte"),
])
def test_keys_that_are_not_a_browser_subscription_are_refused_naming_the_key(p256dh, auth, words):
    if p256dh == "GOOD":
        p256dh = b64url(Browser("b", "https://push.example/b").p256dh)
    with pytest.raises(BadKeys, match=words):
        check_keys(p256dh, auth)
