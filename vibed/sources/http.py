"""The httpx boundary shared by the sources: one request, its status and its body, as values.

Everything here turns upstream trouble into a ``Trouble`` (a Failure without its source/scope/page)
instead of raising, so each source only adds what is specific to its upstream.  A body is read as
it streams in and inflated with a bound (``capped_body``), and reading stops once it passes
``max_body`` decoded bytes (``VIBED_UPSTREAM_MAX_BODY``): a small gzip answer that inflates to a
gigabyte costs the cap, never the gigabyte.
"""

from __future__ import annotations

import http.cookiejar
import json
import socket
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

import attrs
import httpx
import trio

from vibed.sources.capped_body import ACCEPT_ENCODING, BodyTooLarge, UnknownEncoding, read_capped
from vibed.vocab.backoff import parse_retry_after
from vibed.vocab.messages import Failure, FailureKind

BROWSER_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)


@attrs.frozen
class Trouble:
    kind: FailureKind
    detail: str
    retry_after: float | None = None
    status: int | None = None

    def at(self, source: str, scope: str, page: int) -> Failure:
        return Failure(source, scope, page, self.kind, self.detail, self.retry_after, self.status)


INTEGER_DIGITS = 40  # a JSON integer longer than this (with its sign) is read as null
MAX_BODY = 8 * 1024 * 1024  # VIBED_UPSTREAM_MAX_BODY's default: a page of 100 items is ~200 KB


INLINE_BODY = 256 * 1024  # bytes: a real page (~100 KB) is read on the loop; a larger one in a worker thread
T = TypeVar("T")


async def read_off_loop(response: httpx.Response, read: Callable[[httpx.Response], T]) -> T:
    """``read(response)`` (parse the JSON, build the releases): on the event loop for a page of usual
    size, in a worker thread for a larger one, so 8 MB of hostile JSON never stalls the streams."""
    if len(response.content) <= INLINE_BODY:
        return read(response)
    return await trio.to_thread.run_sync(read, response)


def upstream_client(timeout: float, *, max_connections: int = 32) -> httpx.AsyncClient:
    """The client every source calls through: no redirects followed, and no cookies kept.

    Every request sets the cookies it needs (JioSaavn's ``L``) itself.  A jar would only gather what the
    upstream sets (the site's geolocated ``L=hindi`` on every answer, or a hostile upstream's thousands of
    names, kept for the daemon's whole life)."""
    return httpx.AsyncClient(follow_redirects=False, timeout=timeout, cookies=_no_cookies(),
                             limits=httpx.Limits(max_connections=max_connections))


def _no_cookies() -> http.cookiejar.CookieJar:
    return http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))  # no domain allowed


async def send(client: httpx.AsyncClient, request: httpx.Request, *, timeout: float,
               max_body: int = MAX_BODY) -> httpx.Response | Trouble:
    """Send and read the whole body within ``timeout`` seconds in total, at most ``max_body`` bytes of
    it decoded; network trouble -> TIMEOUT, a larger body -> UPSTREAM_ERROR."""
    with trio.move_on_after(timeout):  # httpx's timeouts are per read; this bounds a slow drip too
        try:
            request.headers["Accept-Encoding"] = ACCEPT_ENCODING  # what read_capped can inflate with a bound
            streamed = await client.send(request, follow_redirects=False, stream=True)
            try:
                return await _read_capped(streamed, max_body)
            finally:
                await streamed.aclose()
        except httpx.TimeoutException as exc:
            return Trouble(FailureKind.TIMEOUT, f"timed out talking to {request.url.host}: {type(exc).__name__}")
        except httpx.ConnectError as exc:  # the name did not resolve, or the connection was refused
            if _caused_by(exc, socket.gaierror):
                return Trouble(FailureKind.DNS, f"cannot resolve {request.url.host}: {_one_line(exc)}")
            return Trouble(FailureKind.CONNECT, f"cannot connect to {request.url.host}: {_one_line(exc)}")
        except httpx.TransportError as exc:  # reset, protocol errors
            return Trouble(FailureKind.TIMEOUT, f"could not reach {request.url.host}: {_one_line(exc)}")
        except httpx.RequestError as exc:  # undecodable content encoding and the like
            return Trouble(FailureKind.UPSTREAM_ERROR, f"bad answer from {request.url.host}: {_one_line(exc)}")
    return Trouble(FailureKind.TIMEOUT, f"timed out talking to {request.url.host}: no answer within {timeout:g} s")


async def _read_capped(streamed: httpx.Response, max_body: int) -> httpx.Response | Trouble:
    """The answer holding its decoded body, or a Trouble once the body passes ``max_body`` bytes."""
    host = streamed.request.url.host
    try:
        body = await read_capped(streamed, max_body)
    except BodyTooLarge:
        return Trouble(FailureKind.UPSTREAM_ERROR, f"{host} sent an answer larger than {max_body} bytes decoded "
                       "(VIBED_UPSTREAM_MAX_BODY); dropped, the rest left unread", status=streamed.status_code)
    except (UnknownEncoding, zlib.error) as exc:
        return Trouble(FailureKind.UPSTREAM_ERROR, f"bad answer from {host}: {_one_line(exc)}",
                       status=streamed.status_code)
    headers = [(k, v) for k, v in streamed.headers.multi_items()
               if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")]
    return httpx.Response(streamed.status_code, headers=headers, content=body, request=streamed.request,
                          extensions=streamed.extensions)


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    for _ in range(10):  # the cause chain is short; never loop on a cycle
        if seen is None:
            return False
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _one_line(exc: Exception) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:160] if lines else type(exc).__name__


def status_trouble(response: httpx.Response, upstream: str) -> Trouble | None:
    """The common meaning of a non-2xx status (429 and 5xx with Retry-After); None for 2xx."""
    status = response.status_code
    if 200 <= status < 300:
        return None
    retry_after = parse_retry_after(response.headers.get("retry-after"))
    if status == 429:
        return Trouble(FailureKind.RATE_LIMITED, f"{upstream} said 429 Too Many Requests", retry_after, status)
    if status >= 500:
        return Trouble(FailureKind.UPSTREAM_ERROR, f"{upstream} failed with HTTP {status}", retry_after, status)
    return Trouble(FailureKind.UPSTREAM_ERROR, f"{upstream} answered HTTP {status}", retry_after, status)


def looks_like_html(response: httpx.Response) -> bool:
    if "html" in response.headers.get("content-type", "").lower():
        return True
    return response.content.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<"


def _integer(digits: str) -> int | None:
    """A JSON integer; None past ``INTEGER_DIGITS`` digits.  Python refuses to read one of more than
    4,300 digits (a ValueError, which cost the whole page); no upstream count needs 40."""
    return int(digits) if len(digits) <= INTEGER_DIGITS else None


def decode_json(response: httpx.Response, upstream: str) -> Any | Trouble:
    """The JSON body; an HTML page (a block page) -> BLOCKED; truncated or invalid JSON -> UPSTREAM_ERROR.

    The body decides, not the ``Content-Type``: JSON labelled ``text/html`` (PHP's default) is read
    as JSON, and a page is HTML only when it is not JSON.  A byte that is not UTF-8 inside a string
    costs that character (U+FFFD), not the page: one title must not lose the other items."""
    try:
        try:
            return json.loads(response.content, parse_int=_integer)
        except UnicodeDecodeError:
            return json.loads(response.content.decode("utf-8-sig", "replace"), parse_int=_integer)
    except RecursionError:  # "[[[[…" nested past the parser's stack: hostile, not a page
        return Trouble(FailureKind.UPSTREAM_ERROR, f"{upstream} sent JSON nested too deeply",
                       status=response.status_code)
    except ValueError:
        if looks_like_html(response):
            return Trouble(FailureKind.BLOCKED, f"{upstream} sent an HTML page instead of JSON",
                           status=response.status_code)
        size = len(response.content)
        return Trouble(
            FailureKind.UPSTREAM_ERROR, f"{upstream} sent truncated or invalid JSON ({size} bytes)",
            status=response.status_code,
        )
