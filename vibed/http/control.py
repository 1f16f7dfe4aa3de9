"""``POST /api/new-releases/fetch``: ask for a round now → 202 with its id.

Protected: with JWT_SECRET a Bearer JWT is required; without it only loopback clients may ask.
"""

from __future__ import annotations

import ipaddress
import json
from typing import Any

from quart import Blueprint, current_app, g, jsonify, request

from vibed.auth import AuthError, verify_bearer
from vibed.http.errors import ApiError
from vibed.sources.languages import LANGUAGES

blueprint = Blueprint("control", __name__)


def register(app: Any) -> None:
    app.register_blueprint(blueprint)


def _is_loopback(addr: str | None) -> bool:
    try:
        return addr is not None and ipaddress.ip_address(addr.split("%")[0]).is_loopback
    except ValueError:
        return False


def authorize(runtime: Any) -> None:
    secret = runtime.config.jwt_secret
    if secret:
        try:
            verify_bearer(request.headers.get("Authorization"), secret)
        except AuthError as exc:
            raise ApiError(401, "unauthorized", str(exc), {"WWW-Authenticate": 'Bearer realm="vibed"'}) from None
    # the resolved client (protection.py): behind a trusted local proxy the peer is loopback for everyone
    elif not _is_loopback(g.get("vibed_client_ip", request.remote_addr)):
        raise ApiError(403, "forbidden", "control endpoints answer loopback clients only while JWT_SECRET "
                                         "is unset; set JWT_SECRET and send a Bearer token")


def _string_list(body: dict[str, Any], key: str, allowed: Any) -> tuple[str, ...] | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or not value:
        raise ApiError(400, "invalid_body", f"'{key}' must be a non-empty list of strings")
    unknown = [v for v in value if v not in allowed]
    if unknown:
        raise ApiError(400, "invalid_body", f"unknown {key[:-1]} {unknown[0]!r}; allowed: {', '.join(allowed)}")
    return tuple(dict.fromkeys(value))


@blueprint.post("/api/new-releases/fetch")
async def request_fetch():  # type: ignore[no-untyped-def]
    runtime = current_app.extensions["vibed"]
    authorize(runtime)
    raw = await request.get_data(cache=False)
    body: dict[str, Any] = {}
    if raw.strip():
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise ApiError(400, "invalid_json", "the body is not JSON; send {} or "
                                                '{"languages": ["ml"], "sources": ["jiosaavn"]}') from None
        if not isinstance(body, dict):
            raise ApiError(400, "invalid_body", "the body must be a JSON object")
        extra = set(body) - {"languages", "sources"}
        if extra:
            raise ApiError(400, "invalid_body", f"unknown field {sorted(extra)[0]!r}; allowed: languages, sources")
    sources = runtime.parts["sources"]
    languages = _string_list(body, "languages", list(LANGUAGES))
    chosen = _string_list(body, "sources", list(sources))
    requested = runtime.parts["control"].request_round("http", languages, chosen)
    response = jsonify({"round_id": requested.round_id, "coalesced": requested.coalesced,
                        "status": "queued"})
    response.status_code = 202
    return response
