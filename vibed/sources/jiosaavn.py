"""JioSaavn's new-releases call (the site's own ``content.getAlbums``), as Pages and Failures."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any

import httpx

from vibed.sources import jiosaavn_artist, jiosaavn_items
from vibed.sources.http import (
    BROWSER_USER_AGENT,
    MAX_BODY,
    Trouble,
    decode_json,
    read_off_loop,
    send,
    status_trouble,
)
from vibed.sources.item_guard import releases_of
from vibed.vocab.languages import jiosaavn_name
from vibed.vocab.messages import Failure, FailureKind, Page, artist_of

UPSTREAM = "JioSaavn"


class JioSaavnSource:
    """Pages of new albums and songs per language code; never raises for upstream trouble."""

    name = "jiosaavn"
    service = "jiosaavn"

    def __init__(self, client: httpx.AsyncClient, base_url: str, *, page_size: int = 50, timeout: float = 10.0,
                 max_body: int = MAX_BODY):
        self._max_body = max_body
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._page_size = page_size
        self._timeout = timeout

    @property
    def available(self) -> bool:
        return True  # JioSaavn has no "gone"; blocks are transient and reported as Failures

    def scopes(self, languages: Sequence[str]) -> list[str]:
        for code in languages:
            jiosaavn_name(code)  # an unknown code is a configuration error: raise with the allowed list
        return list(languages)

    def reset(self) -> None:
        pass

    def request(self, language_name: str, page: int) -> httpx.Request:
        request = self._client.build_request(
            "GET",
            f"{self._base_url}/api.php",
            params={
                "__call": "content.getAlbums", "_format": "json", "_marker": "0", "api_version": "4",
                "ctx": "web6dot0", "n": str(self._page_size), "p": str(page), "languages": language_name,
            },
            headers={
                "User-Agent": BROWSER_USER_AGENT,
                "Referer": "https://www.jiosaavn.com/new-releases",
                "Accept": "application/json, text/plain, */*",
            },
            timeout=self._timeout,
        )
        # Set last, replacing whatever the client's cookie jar merged in: the site answers with
        # Set-Cookie: L=hindi by geolocation, and a jar sending that back would switch our language.
        request.headers["Cookie"] = f"L={language_name}; gdpr_acceptance=true; DL=english"
        return request

    async def fetch_page(self, scope: str, page: int) -> Page | Failure:
        artist_id = artist_of(scope)
        if artist_id is not None:
            return await self._artist_page(scope, artist_id, page)
        language_name = jiosaavn_name(scope)
        response = await send(self._client, self.request(language_name, page), timeout=self._timeout,
                              max_body=self._max_body)
        if isinstance(response, Trouble):
            return response.at(self.name, scope, page)
        return await read_off_loop(response, partial(_language_page, scope=scope, page=page,
                                                     language_name=language_name))

    async def _artist_page(self, scope: str, artist_id: str, page: int) -> Page | Failure:
        """A followed artist's latest albums, in whatever language they are."""
        request = jiosaavn_artist.request(self._client, self._base_url, artist_id, page, self._timeout)
        response = await send(self._client, request, timeout=self._timeout, max_body=self._max_body)
        if isinstance(response, Trouble):
            return response.at(self.name, scope, page)
        return await read_off_loop(response, partial(_artist_result, scope=scope, page=page))


def _language_page(response: httpx.Response, *, scope: str, page: int, language_name: str) -> Page | Failure:
    body = _body(response)
    if not isinstance(body, Trouble) and not isinstance(body.get("data"), list):
        body = Trouble(FailureKind.UPSTREAM_ERROR, f"{UPSTREAM} sent a page without a data list", status=200)
    if isinstance(body, Trouble):
        return body.at(JioSaavnSource.name, scope, page)
    items = [item for item in body["data"] if isinstance(item, Mapping)]
    releases = releases_of(JioSaavnSource.name, items, partial(jiosaavn_items.release, language_code=scope,
                                                               language_name=language_name))
    return Page(
        source=JioSaavnSource.name,
        scope=scope,
        page=page,
        releases=releases,
        last_page=jiosaavn_items.flag(body.get("last_page")) is True or not body["data"],  # UPSTREAM.md: stop on either
        total=jiosaavn_items.number(body.get("count")),
        received=len(body["data"]),
    )


def _artist_result(response: httpx.Response, *, scope: str, page: int) -> Page | Failure:
    body = _body(response)
    result = body if isinstance(body, Trouble) else jiosaavn_artist.page(body, scope, page)
    return result.at(JioSaavnSource.name, scope, page) if isinstance(result, Trouble) else result


def _body(response: httpx.Response) -> Mapping[str, Any] | Trouble:
    """The page's JSON object, or what is wrong with the answer (most failures arrive as HTTP 200)."""
    if response.status_code == 403:
        return Trouble(FailureKind.BLOCKED, f"{UPSTREAM} refused the request (HTTP 403)", status=403)
    trouble = status_trouble(response, UPSTREAM)
    if trouble is not None:
        return trouble
    body = decode_json(response, UPSTREAM)
    if isinstance(body, Trouble):
        return body
    if not isinstance(body, Mapping):
        shape = "an empty list" if body == [] else f"a JSON {type(body).__name__}"
        return Trouble(FailureKind.UPSTREAM_ERROR, f"{UPSTREAM} sent {shape} instead of a page", status=200)
    error = _error(body)
    return error if error is not None else body


def _error(body: Mapping[str, Any]) -> Trouble | None:
    """``{"status": "failure"}``, ``{"error": {...}}`` or ``{"code": ..., "msg": ...}`` -> a Trouble."""
    error = body.get("error")
    nested = error if isinstance(error, Mapping) else {}
    failed = body.get("status") == "failure" or bool(error) or ("code" in body and "data" not in body)
    if not failed:
        return None
    code = jiosaavn_items.text(nested.get("code") or body.get("code")) or "failure"
    message = jiosaavn_items.text(nested.get("msg") or body.get("msg") or body.get("message") or error)
    kind = FailureKind.BLOCKED if code.upper() == "LOGIN_REQUIRED" else FailureKind.UPSTREAM_ERROR
    detail = f"{UPSTREAM} error {code}" + (f": {message[:120]}" if message else "")
    return Trouble(kind, detail, status=200)
