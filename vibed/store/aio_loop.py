"""The asyncio loop (trio-asyncio) that asyncpg and redis run in: what they report is logged, not raised.

Asyncio libraries report trouble they cannot raise to anyone through ``loop.call_exception_handler``:
asyncpg when a connection goes back to its pool inside a transaction, redis-py when a client is
collected unclosed.  trio-asyncio's default handler raises each report into the loop's nursery,
which would end the daemon over a log-worthy event.  Here each becomes one ``asyncio_error`` line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import trio_asyncio

from vibed.logs import get_logger
from vibed.logs.redact import redact_urls_in

log = get_logger("vibed.store")


def log_report(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """An exception handler for ``loop.set_exception_handler``: one log line, nothing raised."""
    exc = context.get("exception")
    message = str(context.get("message") or "an asyncio library reported an error")
    fields: dict[str, Any] = {"message": redact_urls_in(message.splitlines()[0][:300])}
    if exc is not None:
        fields["error"] = redact_urls_in(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"[:300])
    log.error("asyncio_error", **fields)


@contextlib.asynccontextmanager
async def open_asyncio_loop() -> AsyncIterator[asyncio.AbstractEventLoop]:
    async with trio_asyncio.open_loop() as loop:
        loop.set_exception_handler(log_report)
        yield loop
