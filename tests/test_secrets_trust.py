"""Secrets and trust: the cursor key, JWT rules, the loopback exemption, URL redaction."""

from __future__ import annotations

import time

import jwt
import pytest

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from vibed.config import ConfigError, load_config, secrets_of
from vibed.http.auth import AuthError, issue_token, verify_bearer
from vibed.http.control import direct_loopback
from vibed.http.cursor import CURSOR_KEY_NAME
from vibed.logs.redact import redact_url, strip_urls

SECRET = "trust-test-secret-0123456789abcdef-0123"


def test_a_short_jwt_secret_is_refused_with_one_line() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({}, environ={"JWT_SECRET": "short-secret"}, env_file=None, config_file="/dev/null")
    message = str(caught.value)
    assert message.startswith("JWT_SECRET='***' is shorter than 32 bytes") and "short-secret" not in message


@pytest.mark.parametrize(("url", "shown"), [
    ("postgresql://u:pw1@db/x?sslpassword=pw2&host=/run", "postgresql://u:***@db/x?sslpassword=***&host=/run"),
    ("postgresql://u@db/x?password=pw3", "postgresql://u@db/x?password=***"),
    ("redis://:pw4@cache:6379/0?token=pw5", "redis://:***@cache:6379/0?token=***"),
    ("https://api.example/v1?api_key=pw6&limit=50", "https://api.example/v1?api_key=***&limit=50"),
])
def test_every_url_is_redacted_query_included(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_query_secrets_of_urls_are_masked_in_logs() -> None:
    config = load_config({}, environ={"DATABASE_URL": "postgresql://u@db/x?password=hunter2hunter2"},
                         env_file=None, config_file="/dev/null")
    assert "hunter2hunter2" in secrets_of(config)


def test_public_health_names_no_backend() -> None:
    assert strip_urls("redis at redis://:***@10.0.0.5:6379/0: Connection refused") == \
        "redis at <url>: Connection refused"


def claims(**over: object) -> dict[str, object]:
    now = int(time.time())
    return {"sub": "x", "exp": now + 60, "aud": "vibed", **over}


@pytest.mark.parametrize(("over", "drop", "says"), [
    ({"exp": 9999999999}, None, "lives longer than"),
    ({}, "aud", "no 'aud' claim"),
    ({"aud": "another-service"}, None, "'aud' is not 'vibed'"),
])
def test_tokens_need_a_bounded_exp_and_our_audience(over: dict[str, object], drop: str | None, says: str) -> None:
    body = {k: v for k, v in claims(**over).items() if k != drop}  # made now: collection may be minutes ago
    with pytest.raises(AuthError, match=says):
        verify_bearer(f"Bearer {jwt.encode(body, SECRET, algorithm='HS256')}", SECRET, max_ttl=3600)


def test_a_token_of_ours_within_the_lifetime_passes() -> None:
    assert verify_bearer(f"Bearer {issue_token(SECRET, ttl=3600)}", SECRET, max_ttl=3600)["aud"] == "vibed"


@pytest.mark.parametrize(("peer", "headers", "proxies", "allowed"), [
    ("127.0.0.1", {}, (), True),
    ("::1", {}, (), True),
    ("127.0.0.1", {"X-Forwarded-For": "203.0.113.9"}, (), False),
    ("127.0.0.1", {"Forwarded": "for=203.0.113.9"}, (), False),
    ("127.0.0.1", {"X-Real-IP": "203.0.113.9"}, (), False),
    ("127.0.0.1", {}, ("127.0.0.1",), False),
    ("203.0.113.9", {}, (), False),
])
def test_loopback_exemption_only_for_direct_loopback(peer, headers, proxies, allowed) -> None:
    assert direct_loopback(peer, headers, proxies) is allowed


async def test_control_behind_a_local_proxy_is_refused_without_jwt(db_url) -> None:
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        relayed = await api.client.post("/api/new-releases/fetch", json={},
                                        headers={"X-Forwarded-For": "203.0.113.9"})
        assert relayed.status_code == 403 and "direct loopback" in relayed.json()["detail"]
        direct = await api.client.post("/api/new-releases/fetch", json={})
        assert direct.status_code == 202


async def test_the_cursor_key_is_random_kept_in_the_database_and_not_the_jwt_secret(db, db_url) -> None:
    async with running_daemon(api_config(db_url, api_rate_limit=0, jwt_secret=SECRET)) as api:
        key = bytes(await db.fetchval("SELECT value FROM daemon_keys WHERE name = $1", CURSOR_KEY_NAME))
        assert len(key) == 32 and api.runtime.services.context.keys.cursor == key
    import hashlib

    assert key != hashlib.sha256(SECRET.encode()).digest()
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as again:
        assert again.runtime.services.context.keys.cursor == key, "kept across restarts, shared by instances"


def test_a_url_in_any_log_line_is_redacted() -> None:
    import io
    import json

    from vibed.logs import configure_logging, get_logger

    out = io.StringIO()
    configure_logging(stream=out)
    try:
        get_logger("t").warning("library_said", message="connect to postgresql://u@db/x?password=pw-in-query failed")
    finally:
        configure_logging()
    line = json.loads(out.getvalue().splitlines()[-1])
    assert line["message"] == "connect to postgresql://u@db/x?password=*** failed"


def test_a_secret_setting_quoted_anywhere_in_a_log_line_is_masked() -> None:
    import io
    import json

    from vibed.logs import configure_logging, get_logger

    jwt_secret, spotify = "jwt-secret-0123456789abcdef0123456789", "spotify-secret-9876543210fedcba"
    config = load_config({}, environ={"JWT_SECRET": jwt_secret, "SPOTIFY_CLIENT_ID": "id",
                                      "SPOTIFY_CLIENT_SECRET": spotify}, env_file=None, config_file=None)
    out = io.StringIO()
    configure_logging(stream=out, secrets=secrets_of(config))  # as the daemon does at start
    try:  # not in a URL: a library quoting a value it was given
        get_logger("t").warning("library_said", message=f"bad key {jwt_secret!r}", detail=f"client {spotify} refused")
    finally:
        configure_logging()
    written = out.getvalue()
    line = json.loads(written.splitlines()[-1])
    assert (line["message"], line["detail"]) == ("bad key '***'", "client *** refused")
    assert jwt_secret not in written and spotify not in written


def test_a_bad_url_setting_is_shown_redacted() -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({}, environ={"JIOSAAVN_BASE_URL": "ftp://h/?token=tok-123"}, env_file=None,
                    config_file="/dev/null")
    assert "tok-123" not in str(caught.value) and "token=***" in str(caught.value)
