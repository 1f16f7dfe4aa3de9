"""Roles: one process runs everything (``all``), only the pipeline (``fetch``) or only delivery (``serve``).

    fetch ×1   scheduler · fetchers · writer ─► events in PostgreSQL, published on Redis
               HTTP: /api/health and /metrics only
    serve ×N   edge · streams · page · API ◄─ events from Redis (gaps filled from PostgreSQL)
               POST /api/new-releases/fetch ─► Redis channel ``vibed:rounds`` ─► the fetch process

Fetch and serve processes meet in PostgreSQL and Redis, like the original system's worker and
server.  A round asked of a serve process is published on ``vibed:rounds``; the fetch process
subscribes and hands it to its own Control, with the same round id, so the 202 answer and the
fetch process's ``fetch_completed`` line name the same round.
"""

from __future__ import annotations

import json
from typing import Any

import attrs
import trio

from vibed.logs import get_logger
from vibed.pipeline.control import Control, Requested
from vibed.pipeline.scheduler import new_round_id

log = get_logger("vibed.wiring")
ROUNDS_CHANNEL = "vibed:rounds"
RETRY = 1.0  # seconds between attempts to (re)subscribe while Redis is down


@attrs.define(eq=False)
class RemoteControl:
    """A serve process's Control: a round asked of it is sent to the fetch process over Redis."""

    outbox: trio.MemorySendChannel[dict[str, Any]]

    def request_round(self, origin: str, languages: tuple[str, ...] | None = None,
                      sources: tuple[str, ...] | None = None) -> Requested:
        round_id = new_round_id()
        message = {"round_id": round_id, "origin": origin, "languages": languages, "sources": sources}
        try:
            self.outbox.send_nowait(message)
        except trio.WouldBlock:  # a burst of requests: the ones queued already cover a round
            return Requested(round_id, True)
        return Requested(round_id, False)


async def serve_round_forwarding(redis_url: str, requests: trio.MemoryReceiveChannel[dict[str, Any]], *,
                                 task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """serve role: publish each requested round on ``vibed:rounds``."""
    from vibed.store.redis import RedisUnavailable, open_redis

    async with open_redis(redis_url) as link, requests:
        task_status.started()
        async for message in requests:
            try:
                listeners = await link.publish(ROUNDS_CHANNEL, json.dumps(message).encode())
            except RedisUnavailable as exc:
                log.warning("round_not_forwarded", round_id=message["round_id"], error=str(exc))
                continue
            if listeners == 0:
                log.warning("round_not_forwarded", round_id=message["round_id"],
                            error="no fetch process listens on Redis (start one: vibed run --role fetch)")
            else:
                log.info("round_forwarded", round_id=message["round_id"], origin=message["origin"])


async def serve_round_requests(redis_url: str, control: Control, *,
                               task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """fetch role: take the rounds serve processes ask for, as if asked here."""
    from vibed.store.redis import RedisUnavailable, open_redis

    async with open_redis(redis_url) as link:
        task_status.started()
        while True:
            try:
                async with link.open_subscription(ROUNDS_CHANNEL) as subscription:
                    while True:
                        payload = await subscription.next_message(timeout=5.0)
                        if payload is not None:
                            _request(control, payload)
            except RedisUnavailable as exc:
                log.warning("round_requests_unavailable", error=str(exc), retry_in=RETRY)
                await trio.sleep(RETRY)


def _request(control: Any, payload: bytes) -> None:
    try:
        message = json.loads(payload)
        languages = message.get("languages")
        sources = message.get("sources")
        control.request_round(f"remote:{message.get('origin', '?')}",
                              None if languages is None else tuple(languages),
                              None if sources is None else tuple(sources), round_id=message.get("round_id"))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("round_request_ignored", error=repr(exc)[:200])
