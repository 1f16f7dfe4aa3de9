"""Helpers for the notification-target tests: a daemon that may send to loopback, targets, and messages.

    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        target = await add_target(api, f"json://127.0.0.1:{rx.port}/hook")
        [message] = json_messages(await rx.wait_for(1))       # {"title", "message", "type", …}
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import parse_qs
from zoneinfo import ZoneInfo

from tests.api_support import api_config
from tests.webhook_receiver import Received

LOCAL = {"webhook_allow_cidrs": "127.0.0.0/8"}  # the receiver is on loopback
FAST = {"notify_poll": 0.05, "notify_retry_schedule": "0.3s,0.3s,0.3s"}


def config(db_url: str, **overrides: Any) -> Any:
    return api_config(db_url, **{**LOCAL, **FAST, **overrides})


async def add_target(api: Any, url: str, **fields: Any) -> dict[str, Any]:
    r = await api.client.post("/api/notify/targets", json={"url": url, **fields})
    assert r.status_code == 201, r.text
    return r.json()


def message(received: Received) -> dict[str, str]:
    """What Apprise sent: a json:// body, or a form:// one, as {"title", "message", …}."""
    if received.headers.get("content-type", "").startswith("application/json"):
        return json.loads(received.body)
    return {k: v[0] for k, v in parse_qs(received.body.decode()).items()}


def messages(received: list[Received]) -> list[dict[str, str]]:
    return [message(r) for r in received]


async def db_now(db: Any) -> dt.datetime:
    return await db.fetchval("SELECT now()")


def local_clock(t: dt.datetime, tz: str) -> str:
    """``t`` on the wall clock of ``tz`` as the API writes a time back: HH:MM:SS, or HH:MM on a whole minute."""
    local = t.astimezone(ZoneInfo(tz))
    return local.strftime("%H:%M:%S" if local.second else "%H:%M")
