"""One delivery attempt: a signed POST over a vetted connection, no redirects, bounded in time.

The answer decides: 2xx delivered; 410 Gone pauses the subscription at once; anything else (a 3xx included: redirects are never
followed), a refused target, a timeout or a network error is a failed attempt whose ``error``
is one line without the URL (a Discord or Slack webhook URL *is* a credential).  At most
``ANSWER_LIMIT`` bytes of the answer are read, so a hostile target cannot make us buffer.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator

import attrs
import httpcore
import trio

import vibed
from vibed.outbox.reach import RefusedTarget, TargetRules, VettedBackend, url_problem
from vibed.vocab.backoff import parse_retry_after
from vibed.vocab.messages import WebhookDelivery
from vibed.webhooks import formats
from vibed.webhooks.signing import signed_headers

ANSWER_LIMIT = 64 * 1024
GONE = 410  # the target's way to unsubscribe: the subscription is paused at once, not retried
USER_AGENT = f"vibed/{vibed.__version__} (+webhooks)".encode()


@attrs.frozen
class Attempt:
    ok: bool
    status: int | None = None
    error: str = ""
    retry_after: float | None = None  # seconds, when the target said so


def message_id(delivery: WebhookDelivery) -> str:
    """The ``webhook-id``: one per (event, subscription), the same on every attempt."""
    return f"msg_{delivery.id}"


@contextlib.asynccontextmanager
async def open_sender_pool(rules: TargetRules, max_connections: int) -> AsyncIterator[httpcore.AsyncConnectionPool]:
    pool = httpcore.AsyncConnectionPool(max_connections=max_connections, retries=0, keepalive_expiry=30.0,
                                        network_backend=VettedBackend(rules))
    try:
        yield pool
    finally:
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            await pool.aclose()


async def attempt(pool: httpcore.AsyncConnectionPool, delivery: WebhookDelivery, *, rules: TargetRules,
                  timeout: float) -> Attempt:
    problem = url_problem(delivery.url, rules)
    if problem is not None:
        return Attempt(False, error=f"refused: {problem}")
    body = formats.body(delivery.format, delivery.payload, delivery.created_at)
    headers = [(b"content-type", b"application/json"), (b"user-agent", USER_AGENT),
               *signed_headers(delivery.secret, message_id(delivery), int(time.time()), body)]
    try:
        status, answer_headers = await post(pool, delivery.url, headers, body, timeout=timeout)
    except NoAnswer as exc:
        return Attempt(False, error=str(exc))
    return _judge(status, answer_headers)


class NoAnswer(Exception):
    """Why an attempt got no answer: one line, never the URL (a URL can be a credential)."""


async def post(pool: httpcore.AsyncConnectionPool, url: str, headers: list[tuple[bytes, bytes]], body: bytes, *,
               timeout: float, detail: bool = True) -> tuple[int, list[tuple[bytes, bytes]]]:
    """POST ``body`` over a vetted connection, within ``timeout`` in all, reading at most ``ANSWER_LIMIT``
    bytes of the answer: its status and headers.  Web Push's attempts use it too (vibed/push/send.py).
    Raises ``NoAnswer``, whose line names the network error's text only when ``detail``."""
    limits = {"connect": timeout, "read": timeout, "write": timeout, "pool": timeout}
    with trio.move_on_after(timeout):  # the whole attempt, a slow drip included
        try:
            async with pool.stream("POST", url, headers=headers, content=body,
                                   extensions={"timeout": limits}) as response:
                read = 0
                with trio.CancelScope() as reading:
                    async for chunk in response.aiter_stream():
                        read += len(chunk)
                        if read > ANSWER_LIMIT:
                            # not ``break``: that leaves httpcore's body generators half-read, to be
                            # finalised by the garbage collector; the next read raises Cancelled in
                            # them instead, so they end now (and the connection is closed)
                            reading.cancel()
                return response.status, response.headers
        except RefusedTarget as exc:
            raise NoAnswer(f"refused: {exc}") from None
        except httpcore.TimeoutException as exc:
            raise NoAnswer(f"timed out: {type(exc).__name__}") from None
        except (httpcore.NetworkError, httpcore.ProtocolError, httpcore.UnsupportedProtocol, OSError) as exc:
            why = f": {str(exc)[:120]}" if detail else ""
            raise NoAnswer(f"could not deliver: {type(exc).__name__}{why}") from None
    raise NoAnswer(f"no answer within {timeout:g} s")


def _judge(status: int, raw_headers: list[tuple[bytes, bytes]]) -> Attempt:
    if 200 <= status < 300:
        return Attempt(True, status)
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
    if 300 <= status < 400:
        return Attempt(False, status, f"answered {status}, a redirect: redirects are never followed")
    if status == GONE:
        return Attempt(False, status, "answered 410 Gone: the target asks to be unsubscribed")
    return Attempt(False, status, f"answered {status}", parse_retry_after(headers.get("retry-after")))
