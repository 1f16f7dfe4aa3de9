"""One push attempt: the encrypted message, POSTed with VAPID over a vetted connection, bounded in time.

The POST is the webhooks' (``vibed.webhooks.send.post``: bounded in time and in what it reads).  The
endpoint came from a browser, so it is held to the webhooks' SSRF rules
(vibed/outbox/reach.py: https only, public addresses only, checked when the connection is
made, the same ``VIBED_WEBHOOK_ALLOW_*`` settings).  The answer decides (RFC 8030 §5, §7):

    2xx        delivered (push services answer 201 Created)
    404, 410   the subscription is gone (expired, or the user revoked it): it is deleted
    400, 413   the message can never be accepted: dead at once
    other      a failed attempt, backed off (429's and 503's ``Retry-After`` honoured)

Errors are one line without the endpoint (it is a bearer of that browser's notifications).
"""

from __future__ import annotations

from typing import Literal

import attrs
import httpcore

from vibed.outbox.reach import TargetRules, url_problem
from vibed.push import message
from vibed.push.crypto import Vapid, encrypt
from vibed.push.outbox import PushDelivery
from vibed.vocab.backoff import parse_retry_after
from vibed.webhooks.send import NoAnswer, post

Outcome = Literal["delivered", "failed", "gone", "rejected"]


@attrs.frozen
class Attempt:
    outcome: Outcome
    status: int | None = None
    error: str = ""
    retry_after: float | None = None


def encrypted(delivery: PushDelivery) -> bytes:
    return encrypt(message.payload(delivery.event_id, delivery.payload), delivery.p256dh, delivery.auth)


async def attempt(pool: httpcore.AsyncConnectionPool, delivery: PushDelivery, vapid: Vapid, *,
                  rules: TargetRules, timeout: float, ttl: int) -> Attempt:
    problem = url_problem(delivery.endpoint, rules)
    if problem is not None:
        return Attempt("failed", error=f"refused: {problem}")
    body = encrypted(delivery)
    headers = message.headers(ttl, message.topic(delivery.release_id, delivery.event_id),
                              vapid.authorization(delivery.endpoint), len(body))
    try:
        status, raw_headers = await post(pool, delivery.endpoint, headers, body, timeout=timeout, detail=False)
    except NoAnswer as exc:  # its line without the network error's text, which could quote the endpoint
        return Attempt("failed", error=str(exc))
    return judge(status, raw_headers)


def judge(status: int, raw_headers: list[tuple[bytes, bytes]]) -> Attempt:
    if 200 <= status < 300:
        return Attempt("delivered", status)
    if status in (404, 410):
        return Attempt("gone", status, f"answered {status}: the subscription has expired or was revoked")
    if status in (400, 413):
        return Attempt("rejected", status, f"answered {status}: the push service refuses this message")
    if 300 <= status < 400:
        return Attempt("failed", status, f"answered {status}, a redirect: redirects are never followed")
    headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in raw_headers}
    return Attempt("failed", status, f"answered {status}", parse_retry_after(headers.get("retry-after")))
