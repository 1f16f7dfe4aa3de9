"""JWT for the control endpoints: HS256 with JWT_SECRET, ``exp`` required, nothing else accepted."""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
LEEWAY_S = 30  # small clock skew between the token's issuer and us


class AuthError(Exception):
    """``str()`` is safe to show the client: it never contains the token or the secret."""


def issue_token(secret: str, *, ttl: float, subject: str = "operator") -> str:
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + int(ttl)}, secret, algorithm=ALGORITHM)


def verify_bearer(header: str | None, secret: str) -> dict[str, object]:
    if not header:
        raise AuthError("missing Authorization header: send 'Authorization: Bearer <token>' (vibed token)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <token>'")
    try:
        return jwt.decode(token.strip(), secret, algorithms=[ALGORITHM], leeway=LEEWAY_S,
                          options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired: issue a new one with `vibed token`") from None
    except jwt.InvalidSignatureError:
        raise AuthError("the token's signature does not match JWT_SECRET") from None
    except jwt.MissingRequiredClaimError:
        raise AuthError("the token has no 'exp' claim: tokens must expire") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("the token's algorithm is not HS256") from None
    except jwt.InvalidTokenError:
        raise AuthError("the token is malformed") from None
