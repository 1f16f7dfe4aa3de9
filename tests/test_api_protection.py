"""Rate limit, client identity, CORS, security headers and JWT on a live daemon."""

from __future__ import annotations

import time

import jwt

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from vibed.edge.respond import HTML_CSP, JSON_CSP, content_security_policy
from vibed.http.auth import issue_token

SECRET = "a-test-secret-long-enough-for-hs512-as-well-0123456789abcdef0123"  # 64 bytes
FETCH = "/api/new-releases/fetch"


async def test_over_the_limit_is_429_with_retry_after_and_ratelimit_headers_where_no_cache_may_share_them(db_url):
    async with running_daemon(api_config(db_url, api_rate_limit=4)) as api:
        shared = await api.client.get("/api/new-releases")  # counted, but a cache in front may store it
        again = await api.client.get("/api/new-releases", headers={"If-None-Match": shared.headers["ETag"]})
        answers = [await api.client.get("/api/rate-limit") for _ in range(2)]
        refused = await api.client.get("/api/rate-limit")
        unlimited = [await api.client.get(path) for path in ("/api/health", "/openapi.json") for _ in range(3)]
    assert shared.status_code == 200 and shared.headers["Cache-Control"] == "max-age=5"
    assert again.status_code == 304
    assert not [h for r in (shared, again) for h in r.headers if h.lower().startswith("ratelimit-")]
    assert [r.status_code for r in answers] == [200, 200] and answers[0].headers["Cache-Control"] == "no-store"
    assert [r.headers["RateLimit-Remaining"] for r in answers] == ["1", "0"]
    assert all(r.headers["RateLimit-Limit"] == "4" for r in answers)
    assert 0 < int(answers[-1].headers["RateLimit-Reset"]) <= 60
    assert refused.status_code == 429 and refused.json()["error"] == "rate_limited"
    assert 1 <= int(refused.headers["Retry-After"]) <= 20  # one request per 20 s comes back
    assert refused.headers["RateLimit-Remaining"] == "0"
    assert [r.status_code for r in unlimited] == [200] * 6
    assert "RateLimit-Limit" not in unlimited[0].headers


async def test_forwarded_for_is_believed_only_from_trusted_proxies_right_most_untrusted_hop(db_url):
    def xff(value: str) -> dict[str, str]:
        return {"X-Forwarded-For": value}

    async with running_daemon(api_config(db_url, api_rate_limit=2, trusted_proxies="127.0.0.1,10.0.0.0/8")) as api:
        get = api.client.get
        # the client made up "6.6.6.6"; our proxies 10.1.1.1 and the peer 127.0.0.1 appended the rest
        first = [await get("/api/rate-limit", headers=xff(f"{spoof}, 198.51.100.7, 10.1.1.1"))
                 for spoof in ("6.6.6.6", "7.7.7.7", "8.8.8.8")]
        other = await get("/api/rate-limit", headers=xff("203.0.113.9"))
    assert [r.status_code for r in first] == [200, 200, 429]  # one client, whatever it claimed
    assert other.status_code == 200 and other.headers["RateLimit-Remaining"] == "1"

    async with running_daemon(api_config(db_url, api_rate_limit=2)) as api:  # no trusted proxy: header ignored
        answers = [await api.client.get("/api/rate-limit", headers=xff(f"192.0.2.{i}")) for i in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]


async def test_cors_only_for_listed_origins_and_preflight_is_answered(db_url):
    preflight = {"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                 "Access-Control-Request-Headers": "If-None-Match"}
    async with running_daemon(api_config(db_url)) as api:  # default: same origin only
        plain = await api.client.get("/api/new-releases", headers={"Origin": "https://app.example"})
        refused = await api.client.options("/api/new-releases", headers=preflight)
    assert plain.status_code == 200 and "Access-Control-Allow-Origin" not in plain.headers
    assert refused.status_code == 403 and refused.json()["error"] == "cors_forbidden"

    async with running_daemon(api_config(db_url, cors_origins="https://app.example")) as api:
        allowed = await api.client.options("/api/new-releases", headers=preflight)
        read = await api.client.get("/api/new-releases", headers={"Origin": "https://app.example"})
        stranger = await api.client.get("/api/new-releases", headers={"Origin": "https://evil.example"})
    assert allowed.status_code == 204 and allowed.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert {"If-Match", "If-None-Match", "If-Modified-Since", "If-Unmodified-Since"} <= {
        h.strip() for h in allowed.headers["Access-Control-Allow-Headers"].split(",")}  # every precondition
    assert "GET" in allowed.headers["Access-Control-Allow-Methods"]
    assert read.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert "ETag" in read.headers["Access-Control-Expose-Headers"] and "Origin" in read.headers["Vary"]
    assert "Access-Control-Allow-Origin" not in stranger.headers


async def test_security_headers_on_answers_errors_and_304_with_csp_per_type(db_url):
    async with running_daemon(api_config(db_url)) as api:
        ok = await api.client.get("/api/new-releases")
        missing = await api.client.get("/nothing-here")
        not_modified = await api.client.get("/api/new-releases", headers={"If-None-Match": ok.headers["ETag"]})
    for r in (ok, missing, not_modified):
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["Referrer-Policy"] == "no-referrer"
        assert r.headers["Content-Security-Policy"] == "default-src 'none'; frame-ancestors 'none'"
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert not_modified.status_code == 304
    assert content_security_policy(b"text/html") == HTML_CSP and b"script-src 'self'" in HTML_CSP
    assert content_security_policy(b"application/json") == content_security_policy(None) == JSON_CSP


def _tokens() -> dict[str, tuple[str, str]]:
    """Each token is good but for one thing (it carries sub, aud and a short exp unless that is the
    thing): a check removed lets exactly its token through.  Value: (header, what the 401 says)."""
    now = int(time.time())
    good = {"sub": "x", "aud": "vibed", "iat": now, "exp": now + 60}

    def signed(algorithm: str = "HS256", key: str | None = SECRET, drop: str = "", **over: object) -> str:
        claims = {k: v for k, v in {**good, **over}.items() if k != drop}
        return f"Bearer {jwt.encode(claims, key, algorithm=algorithm)}"

    return {
        "missing": ("", "missing Authorization"),
        "not bearer": (f"Basic {issue_token(SECRET, ttl=60)}", "must be 'Bearer"),
        "wrong signature": (signed(key=SECRET[::-1]), "signature"),
        "expired": (signed(exp=now - 3600), "expired"),
        "expired within the leeway's reach": (signed(exp=now - 120), "expired"),
        "no exp": (signed(drop="exp"), "no 'exp'"),
        "too long-lived": (signed(exp=now + 10 * 86400), "lives longer"),
        "wrong aud": (signed(aud="another-service"), "'aud' is not"),
        "no aud": (signed(drop="aud"), "no 'aud'"),
        "no sub": (signed(drop="sub"), "no 'sub'"),
        "malformed": ("Bearer not.a.jwt", "malformed"),
        # cut before its signature: cutting inside the signature's base64 is sometimes still decodable, and
        # then it is a signature mismatch (also refused, with another reason), which made this row flaky
        "truncated": (f"Bearer {issue_token(SECRET, ttl=60).rsplit('.', 1)[0]}", "malformed"),
        "alg none": (signed(algorithm="none", key=None), "algorithm"),
        "HS512": (signed(algorithm="HS512"), "algorithm"),
        "HS384": (signed(algorithm="HS384"), "algorithm"),
    }


async def test_control_refuses_every_bad_token_with_401_and_www_authenticate(db_url):
    async with running_daemon(api_config(db_url, jwt_secret=SECRET, api_rate_limit=0)) as api:
        tokens = _tokens()
        refused = {name: await api.client.post(FETCH, headers={"Authorization": value} if value else {})
                   for name, (value, _) in tokens.items()}
        good = await api.client.post(FETCH, headers={"Authorization": f"Bearer {issue_token(SECRET, ttl=60)}"},
                                     json={"languages": ["ml"]})
    for name, r in refused.items():
        assert r.status_code == 401, (name, r.text)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), name
        assert r.json()["error"] == "unauthorized" and tokens[name][1] in r.json()["detail"], (name, r.text)
    assert good.status_code == 202 and good.json()["status"] == "queued"
