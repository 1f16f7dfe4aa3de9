"""JWT for the control endpoints: HS256 with JWT_SECRET; ``exp``, ``aud`` and ``sub`` required.

A token must expire within the configured maximum lifetime (``VIBED_JWT_MAX_TTL``), so a token
that leaks stops working soon, and must name this service in ``aud``
(``VIBED_JWT_AUDIENCE``), so a token minted with the same secret for another service is refused.
Its ``sub`` owns what it makes (webhook subscriptions): two subjects never see each other's.
"""

from __future__ import annotations

import time

import jwt

ALGORITHM = "HS256"
LEEWAY_S = 30  # small clock skew between the token's issuer and us
DEFAULT_AUDIENCE = "vibed"
DEFAULT_MAX_TTL = 86400.0


class AuthError(Exception):
    """``str()`` is safe to show the client: it never contains the token or the secret."""


def issue_token(secret: str, *, ttl: float, subject: str = "operator", audience: str = DEFAULT_AUDIENCE) -> str:
    now = int(time.time())
    return jwt.encode({"sub": subject, "iat": now, "exp": now + int(ttl), "aud": audience}, secret,
                      algorithm=ALGORITHM)


def verify_bearer(header: str | None, secret: str, *, audience: str = DEFAULT_AUDIENCE,
                  max_ttl: float = DEFAULT_MAX_TTL) -> dict[str, object]:
    if not header:
        raise AuthError("missing Authorization header: send 'Authorization: Bearer <token>' (vibed token)")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("Authorization must be 'Bearer <token>'")
    try:
        claims = jwt.decode(token.strip(), secret, algorithms=[ALGORITHM], leeway=LEEWAY_S, audience=audience,
                            options={"require": ["exp", "aud", "sub"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("the token has expired: issue a new one with `vibed token`") from None
    except jwt.InvalidSignatureError:
        raise AuthError("the token's signature does not match JWT_SECRET") from None
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"the token has no '{exc.claim}' claim: issue one with `vibed token`") from None
    except jwt.InvalidAudienceError:
        raise AuthError(f"the token's 'aud' is not {audience!r} (VIBED_JWT_AUDIENCE)") from None
    except jwt.InvalidAlgorithmError:
        raise AuthError("the token's algorithm is not HS256") from None
    except jwt.InvalidTokenError:
        raise AuthError("the token is malformed") from None
    if not isinstance(claims.get("sub"), str) or not claims["sub"].strip():
        raise AuthError("the token's 'sub' is not a name: issue one with `vibed token --subject`")
    expires = claims.get("exp")
    if not isinstance(expires, (int, float)) or expires > time.time() + max_ttl + LEEWAY_S:
        raise AuthError(f"the token lives longer than {max_ttl:g} s (VIBED_JWT_MAX_TTL): "
                        "issue a shorter one with `vibed token --ttl`")
    return claims
