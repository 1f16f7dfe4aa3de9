"""Spotify's ``browse/new-releases`` with a client-credentials token, as Pages and Failures.

Removed for development-mode apps in 2026: a 403/404 there marks the source gone, and it makes no
further calls until ``reset()`` (config reload).
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable, Mapping, Sequence
from functools import partial
from typing import Any

import httpx
import trio

from vibed.sources import spotify_items
from vibed.sources.http import MAX_BODY, Trouble, decode_json, read_off_loop, send, status_trouble
from vibed.sources.item_guard import releases_of
from vibed.vocab.messages import Failure, FailureKind, Page

UPSTREAM = "Spotify"
RENEW_BEFORE_EXPIRY = 60.0  # seconds; ask for a new token this long before the old one runs out
TOKEN_LIFETIME_MAX = 86400.0  # Spotify says 3600; a longer promise is not believed past a day


class SpotifySource:
    """Pages of new albums per market; never raises for upstream trouble."""

    name = "spotify"
    service = "spotify"

    def __init__(
        self, client: httpx.AsyncClient, api_url: str, accounts_url: str, client_id: str, client_secret: str,
        *, markets: Sequence[str] = ("IN",), page_size: int = 50, timeout: float = 10.0,
        clock: Callable[[], float] = trio.current_time, max_body: int = MAX_BODY,
    ):
        self._max_body = max_body
        self._client = client
        self._api_url = api_url.rstrip("/")
        self._accounts_url = accounts_url.rstrip("/")
        self._basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode("ascii")
        self._markets = list(markets)
        self._page_size = page_size
        self._timeout = timeout
        self._clock = clock
        self._token: str | None = None
        self._renew_at = 0.0
        self._gone = False
        self._token_lock = trio.Lock()  # fetchers of several markets share one token request

    def __repr__(self) -> str:  # never show the credentials
        return f"<SpotifySource markets={self._markets} available={self.available}>"

    @property
    def available(self) -> bool:
        return not self._gone

    def scopes(self, languages: Sequence[str]) -> list[str]:
        return list(self._markets)  # Spotify has no language filter, only markets

    def reset(self) -> None:
        self._gone = False

    async def fetch_page(self, scope: str, page: int) -> Page | Failure:
        if self._gone:
            return Failure(self.name, scope, page, FailureKind.GONE, "Spotify new-releases is gone for this app")
        response = await self._get_new_releases(scope, page)
        if isinstance(response, Trouble):
            return response.at(self.name, scope, page)
        if response.status_code in (403, 404):
            self._gone = True
            detail = f"Spotify new-releases answered HTTP {response.status_code}: gone for this app, not calling again"
            return Failure(self.name, scope, page, FailureKind.GONE, detail, status=response.status_code)
        return await read_off_loop(response, partial(_page, scope=scope, page=page))

    async def _get_new_releases(self, market: str, page: int) -> httpx.Response | Trouble:
        """GET with a valid token; a 401 renews the token once and retries once."""
        rejected: str | None = None
        for _ in range(2):
            token = await self._valid_token(rejected=rejected)
            if isinstance(token, Trouble):
                return token
            request = self._client.build_request(
                "GET", f"{self._api_url}/v1/browse/new-releases",
                params={"limit": str(self._page_size), "offset": str((page - 1) * self._page_size), "country": market},
                headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                timeout=self._timeout,
            )
            response = await send(self._client, request, timeout=self._timeout, max_body=self._max_body)
            if isinstance(response, Trouble) or response.status_code != 401:
                return response
            rejected = token
        return Trouble(FailureKind.AUTH, "Spotify refused a freshly issued token (HTTP 401)", status=401)

    async def _valid_token(self, *, rejected: str | None) -> str | Trouble:
        """The cached token unless it is due for renewal or is the one the API just refused."""
        async with self._token_lock:
            if self._token not in (None, rejected) and self._clock() < self._renew_at:
                return self._token  # may have been renewed by another market's fetcher while we waited
            return await self._new_token()

    async def _new_token(self) -> str | Trouble:
        request = self._client.build_request(
            "POST", f"{self._accounts_url}/api/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {self._basic}", "Accept": "application/json"},
            timeout=self._timeout,
        )
        response = await send(self._client, request, timeout=self._timeout, max_body=self._max_body)
        if isinstance(response, Trouble):
            return response
        if response.status_code in (400, 401):
            return Trouble(FailureKind.AUTH, _auth_detail(response), status=response.status_code)
        trouble = status_trouble(response, "Spotify accounts")
        body = trouble or decode_json(response, "Spotify accounts")
        if isinstance(body, Trouble):
            return body
        token = body.get("access_token") if isinstance(body, Mapping) else None
        expires_in = _lifetime(body.get("expires_in") if isinstance(body, Mapping) else None)
        if not isinstance(token, str) or not token or expires_in is None:
            return Trouble(FailureKind.UPSTREAM_ERROR, "Spotify accounts sent no access_token/expires_in "
                           "(seconds, more than 0)", status=200)
        self._token = token
        self._renew_at = self._clock() + max(0.0, expires_in - min(RENEW_BEFORE_EXPIRY, expires_in / 2))
        return token


def _lifetime(value: Any) -> float | None:
    """A token's ``expires_in`` in seconds, at most ``TOKEN_LIFETIME_MAX``; a number as text is read too.
    None when there is none to trust (absent, NaN, infinite, zero or less): a NaN once renewed the token
    before every call, and 1e308 never."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        return None
    return min(float(value), TOKEN_LIFETIME_MAX)


def _auth_detail(response: httpx.Response) -> str:
    """Spotify's own error code (``invalid_client``), never anything we sent."""
    body = decode_json(response, "Spotify accounts")
    code = body.get("error") if isinstance(body, Mapping) else None
    reason = f": {code}" if isinstance(code, str) and code.isidentifier() else ""
    return f"Spotify refused the client credentials (HTTP {response.status_code}{reason}); check SPOTIFY_CLIENT_ID/SECRET"


def _page(response: httpx.Response, *, scope: str, page: int) -> Page | Failure:
    body = _albums(response)
    if isinstance(body, Trouble):
        return body.at(SpotifySource.name, scope, page)
    items = body["items"]
    return Page(
        source=SpotifySource.name,
        scope=scope,
        page=page,
        releases=releases_of(SpotifySource.name, items, spotify_items.release),
        last_page=body.get("next") is None,
        total=body.get("total") if isinstance(body.get("total"), int) else None,
        received=len(items),
    )


def _albums(response: httpx.Response) -> Mapping[str, Any] | Trouble:
    trouble = status_trouble(response, UPSTREAM)
    if trouble is not None:
        if trouble.kind is FailureKind.RATE_LIMITED:
            return _with_reason(trouble, response)
        return trouble
    body = decode_json(response, UPSTREAM)
    if isinstance(body, Trouble):
        return body
    albums = body.get("albums") if isinstance(body, Mapping) else None
    if not isinstance(albums, Mapping) or not isinstance(albums.get("items"), list):
        return Trouble(FailureKind.UPSTREAM_ERROR, "Spotify sent new-releases without albums.items", status=200)
    return albums


def _with_reason(trouble: Trouble, response: httpx.Response) -> Trouble:
    """A quota 429 (since July 2026) says ``"reason": "QUOTA_EXCEEDED"``; worth a different log line."""
    body = decode_json(response, UPSTREAM)
    error = body.get("error") if isinstance(body, Mapping) else None
    reason = (error if isinstance(error, Mapping) else body if isinstance(body, Mapping) else {}).get("reason")
    if isinstance(reason, str) and reason:
        return Trouble(trouble.kind, f"{trouble.detail} ({reason[:40]})", trouble.retry_after, trouble.status)
    return trouble
