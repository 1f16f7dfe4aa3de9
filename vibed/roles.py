"""Roles: one process runs everything (``all``), only the pipeline (``fetch``) or only delivery (``serve``).

    fetch ×1   scheduler · fetchers · writer ─► events in PostgreSQL, published on Redis
               HTTP: /api/health and /metrics only
    serve ×N   edge · streams · page · API ◄─ events from Redis (gaps filled from PostgreSQL)
               POST /api/new-releases/fetch ─► Redis channel ``vibed:rounds`` ─► the fetch process

Fetch and serve processes meet in PostgreSQL and Redis, like the original system's worker and
server.  A round asked of a serve process is published on ``vibed:rounds``; the fetch process
subscribes and hands it to its own Control, with the same round id, so the 202 answer and the
fetch process's ``fetch_completed`` line name the same round.  The answer is 202 only when a
fetch process received it; Redis down or nobody subscribed is a 503 that says which.
"""

from __future__ import annotations

import json

import attrs
import trio

from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.pipeline.control import Control, Requested
from vibed.pipeline.scheduler import new_round_id
from vibed.store.redis import RedisLink, RedisUnavailable, open_redis

log = get_logger("vibed.wiring")
ROUNDS_CHANNEL = "vibed:rounds"
RETRY = 1.0  # seconds between attempts to (re)subscribe while Redis is down


@attrs.define(eq=False)
class RemoteControl:
    """A serve process's Control: a round asked of it is published to the fetch process over Redis
    at once, and the asker learns whether it was taken.  Redis down, or no fetch process
    subscribed (``PUBLISH`` reached nobody), means no round will run: ``dropped`` says why."""

    link: RedisLink | None = None  # open while ``serve_round_forwarding`` runs

    async def ask_round(self, origin: str, languages: tuple[str, ...] | None = None,
                        sources: tuple[str, ...] | None = None) -> Requested:
        round_id = new_round_id()
        message = {"round_id": round_id, "origin": origin, "languages": languages, "sources": sources}
        dropped = None
        if self.link is None:
            dropped = "this serve process is not connected to Redis yet (or is stopping)"
        else:
            try:
                if await self.link.publish(ROUNDS_CHANNEL, json.dumps(message).encode()) == 0:
                    dropped = "no fetch process listens on Redis (start one: vibed run --role fetch)"
            except RedisUnavailable as exc:
                dropped = f"Redis is unavailable, so the fetch process cannot be asked: {exc}"
        if dropped is not None:
            log.warning("round_not_forwarded", round_id=round_id, error=dropped)
            return Requested(round_id, False, dropped=dropped)
        log.info("round_forwarded", round_id=round_id, origin=origin)
        return Requested(round_id, False)


async def serve_round_forwarding(redis_url: str, control: RemoteControl, *,
                                 task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """serve role: keep the Redis link that ``control`` publishes rounds on."""
    async with open_redis(redis_url) as link:
        control.link = link
        try:
            task_status.started()
            await trio.sleep_forever()
        finally:
            control.link = None


async def serve_round_requests(redis_url: str, control: Control, *,
                               task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """fetch role: take the rounds serve processes ask for, as if asked here."""
    outage = Outage(log, "round_requests_unavailable")  # one line a minute while Redis is down, one at the end
    async with open_redis(redis_url) as link:
        task_status.started()
        while True:
            try:
                async with link.open_subscription(ROUNDS_CHANNEL) as subscription:
                    outage.succeeded()
                    while True:
                        payload = await subscription.next_message(timeout=5.0)
                        if payload is not None:
                            _request(control, payload)
            except RedisUnavailable as exc:
                outage.failed(error=str(exc), retry_in=RETRY)
                await trio.sleep(RETRY)


def _request(control: Control, payload: bytes) -> None:
    try:
        message = json.loads(payload)
        languages = message.get("languages")
        sources = message.get("sources")
        control.request_round(f"remote:{message.get('origin', '?')}",
                              None if languages is None else tuple(languages),
                              None if sources is None else tuple(sources), round_id=message.get("round_id"))
    except (ValueError, TypeError, AttributeError) as exc:
        log.warning("round_request_ignored", error=repr(exc)[:200])
