"""``POST /api/new-releases/fetch``: ask for a round now → 202 with its id.

Protected: with JWT_SECRET a Bearer JWT is required.  Without it only a *direct* loopback client
may ask: the socket's peer is loopback, no proxy is trusted (``VIBED_TRUSTED_PROXIES`` empty),
and the request carries no forwarding header.  Behind a local proxy every client's peer is
127.0.0.1, so any of those signs means "someone else, relayed" and the answer is 403.  A browser
page on this machine is a loopback peer too: ``local_authority`` says what else it must show,
and a poke without a token is paid for from a small budget (``poke_budget``: 429 past it).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, jsonify, request
from quart_trio import QuartTrio

from vibed.http.auth import AuthError, verify_bearer
from vibed.http.context import AppContext, context
from vibed.http.errors import ApiError
from vibed.http.local_authority import loopback_problem
from vibed.http.poke_budget import BURST, EVERY, PokeBudget, retry_after
from vibed.vocab.client_ip import parse_address
from vibed.vocab.json_depth import MAX_BODY_DEPTH, loads_shallow
from vibed.vocab.languages import LANGUAGES

blueprint = Blueprint("control", __name__)


POKES = "vibed.pokes"  # app.extensions key of this app's PokeBudget


def register(app: QuartTrio) -> None:
    app.extensions[POKES] = PokeBudget()
    app.register_blueprint(blueprint)


def _is_loopback(addr: str | None) -> bool:
    # parse_address reads ::ffff:127.0.0.1 (a dual-stack socket's 127.0.0.1) as 127.0.0.1
    ip = parse_address(addr) if addr else None
    return ip is not None and ip.is_loopback


FORWARDING_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "X-Forwarded-Proto")


def direct_loopback(peer: str | None, headers: Any, trusted_proxies: Any) -> bool:
    """The request comes straight from this machine, not relayed by a proxy."""
    if trusted_proxies:
        return False  # a proxy is expected in front: a loopback peer may be anyone
    if any(name in headers for name in FORWARDING_HEADERS):
        return False
    return _is_loopback(peer)


LOCAL_OWNER = "local"  # loopback authority's own; no token names it (theirs are "jwt:<sub>")


def authorize(ctx: AppContext) -> str:
    """Who asks, as the owner of what they make: ``jwt:<sub>`` with a token, ``local`` under loopback
    authority; a 401 or 403 for anyone else."""
    config = ctx.settings()
    secret = config.jwt_secret
    if secret:
        try:
            claims = verify_bearer(request.headers.get("Authorization"), secret, audience=config.jwt_audience,
                                   max_ttl=config.jwt_max_ttl)
        except AuthError as exc:
            raise ApiError(401, "unauthorized", str(exc), {"WWW-Authenticate": 'Bearer realm="vibed"'}) from None
        return f"jwt:{claims['sub']}"
    if not direct_loopback(request.remote_addr, request.headers, config.trusted_proxies):
        raise ApiError(403, "forbidden", "without JWT_SECRET control endpoints answer only direct loopback "
                                         "clients (no trusted proxy, no forwarding header); set JWT_SECRET "
                                         "and send a Bearer token")
    public = urlsplit(config.public_url).hostname if config.public_url else None
    names = (config.host, public or "")
    problem = loopback_problem(request.headers, names)
    if problem is not None:
        raise ApiError(403, "forbidden", problem)
    return LOCAL_OWNER


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
async def request_fetch() -> Response:
    ctx = context()
    owner = authorize(ctx)
    raw = await request.get_data(cache=False)
    body: dict[str, Any] = {}
    if raw.strip():
        try:
            parsed = loads_shallow(raw, max_depth=MAX_BODY_DEPTH)
        except ValueError:  # UnicodeDecodeError and too deep ones too
            raise ApiError(400, "invalid_json", "the body is not JSON; send {} or "
                                                '{"languages": ["ml"], "sources": ["jiosaavn"]}') from None
        if not isinstance(parsed, dict):
            raise ApiError(400, "invalid_body", "the body must be a JSON object")
        body = parsed
        extra = set(body) - {"languages", "sources"}
        if extra:
            raise ApiError(400, "invalid_body", f"unknown field {sorted(extra)[0]!r}; allowed: languages, sources")
    sources = ctx.sources
    languages = _string_list(body, "languages", list(LANGUAGES))
    chosen = _string_list(body, "sources", list(sources))
    if owner == LOCAL_OWNER:  # no token: the poke is paid for from the budget (poke_budget.py)
        wait = current_app.extensions[POKES].take_nowait()
        if wait is not None:
            raise ApiError(429, "too_many_pokes", f"without a token at most {BURST} pokes at once and one every "
                           f"{EVERY:g} s; retry in {retry_after(wait)} s, or set JWT_SECRET and send a Bearer token",
                           {"Retry-After": retry_after(wait)})
    requested = await ctx.control.ask_round("http", languages, chosen)
    if requested.dropped is not None:  # 202 only when a round will run
        raise ApiError(503, "round_not_queued", f"round {requested.round_id} will not run: {requested.dropped}",
                       {"Retry-After": "5"})
    response = jsonify({"round_id": requested.round_id, "coalesced": requested.coalesced,
                        "status": "queued"})
    response.status_code = 202
    return response
