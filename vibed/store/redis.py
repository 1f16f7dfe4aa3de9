"""Redis pub/sub for the bus, crossed into Trio with ``aio_as_trio`` (redis-py is asyncio).

Every redis-py error (refused, reset, timeout, protocol) becomes ``RedisUnavailable`` here, so
the Trio side reacts to one narrow type and never imports redis.  The client connects lazily:
opening a link with Redis down succeeds, and the first command says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import redis.asyncio as aioredis
import redis.exceptions
import trio
from trio_asyncio import aio_as_trio

from vibed.store.postgres import redact_dsn

_ERRORS = (redis.exceptions.RedisError, OSError, ConnectionError, TimeoutError)


class RedisUnavailable(RuntimeError):
    """Redis did not answer (refused, reset, timed out); ``str()`` is one line without secrets."""


def _unavailable(url: str, exc: BaseException) -> RedisUnavailable:
    reason = (str(exc) or type(exc).__name__).splitlines()[0][:200]
    return RedisUnavailable(f"redis at {redact_dsn(url)}: {reason}")


class Subscription:
    """One pub/sub connection subscribed to one channel."""

    def __init__(self, link: RedisLink, pubsub: aioredis.client.PubSub) -> None:
        self._link = link
        self._pubsub = pubsub

    async def next_message(self, timeout: float) -> bytes | None:
        """The next payload on the channel, or None when ``timeout`` seconds pass without one."""
        try:
            msg = await aio_as_trio(self._pubsub.get_message)(ignore_subscribe_messages=True,
                                                                timeout=timeout)
        except _ERRORS as exc:
            raise _unavailable(self._link.url, exc) from None
        return None if msg is None else msg["data"]


class RedisLink:
    """A Trio face on one redis-py asyncio client."""

    def __init__(self, url: str) -> None:
        self.url = url
        # short timeouts: a dead Redis must turn into RedisUnavailable quickly, not hang the bus
        self._client = aioredis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=3,
                                               retry_on_timeout=False)

    async def publish(self, channel: str, message: bytes) -> int:
        try:
            return int(await aio_as_trio(self._client.publish)(channel, message))
        except _ERRORS as exc:
            raise _unavailable(self.url, exc) from None

    @contextlib.asynccontextmanager
    async def open_subscription(self, channel: str) -> AsyncIterator[Subscription]:
        """Subscribe (raises ``RedisUnavailable`` if Redis is down); unsubscribed on exit."""
        pubsub = self._client.pubsub()
        try:
            try:
                await aio_as_trio(pubsub.subscribe)(channel)
            except _ERRORS as exc:
                raise _unavailable(self.url, exc) from None
            yield Subscription(self, pubsub)
        finally:
            with trio.CancelScope(shield=True), trio.move_on_after(2):
                with contextlib.suppress(*_ERRORS):
                    await aio_as_trio(pubsub.aclose)()

    async def aclose(self) -> None:
        with trio.CancelScope(shield=True), trio.move_on_after(2):
            with contextlib.suppress(*_ERRORS):
                await aio_as_trio(self._client.aclose)()


@contextlib.asynccontextmanager
async def open_redis(url: str) -> AsyncIterator[RedisLink]:
    link = RedisLink(url)
    try:
        yield link
    finally:
        await link.aclose()
