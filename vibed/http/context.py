"""``AppContext``: what the HTTP handlers may use, typed, made once by the composition root.

    ctx = context()                  # in a handler: the app's AppContext
    await list_releases(ctx.database, query)
    await ctx.control.ask_round("http", languages, sources)

The handlers see the database, round requests, health and metrics as records, the keys, the
configuration in force (SIGHUP replaces it: read it through ``settings()`` each time) and the
webhook and notify senders' wake-ups, the streams' ear for a watch's changes, and nothing else of the running services.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

import attrs
from quart import current_app

from vibed.config import Config
from vibed.health import HealthReport
from vibed.pipeline.control import Requested
from vibed.store.postgres import Database


class RoundRequests(Protocol):
    """A round asked for: the pipeline's Control, or a serve process's RemoteControl (vibed/roles.py)."""

    async def ask_round(self, origin: str, languages: tuple[str, ...] | None = None,
                        sources: tuple[str, ...] | None = None) -> Requested: ...


@attrs.frozen
class Keys:
    cursor: bytes  # signs the listing's cursors (shared by the deployment, kept in the database)


async def no_streams(watch_id: str) -> None:
    """``watch_changed`` of an app that serves no stream (tests of the app alone)."""


@attrs.frozen
class AppContext:
    database: Database
    control: RoundRequests
    health: Callable[[], Awaitable[HealthReport]]
    metrics: Callable[[], Awaitable[bytes]]  # the Prometheus text now
    keys: Keys
    settings: Callable[[], Config]  # the configuration in force
    sources: tuple[str, ...]  # the sources this deployment fetches, by name
    wake_webhooks: Callable[[], None]  # the webhook sender looks at the outbox now
    http_port: Callable[[], int | None]  # the port bound (PORT=0 picks one); None until it is
    # a watch was changed or deleted (committed): the streams open on it, on every instance, follow
    watch_changed: Callable[[str], Awaitable[None]] = no_streams
    wake_targets: Callable[[], None] = lambda: None  # the notify sender looks at its outbox now


def context() -> AppContext:
    """The running app's context (``create_app`` puts it in ``app.extensions["vibed"]``)."""
    ctx = current_app.extensions["vibed"]
    assert isinstance(ctx, AppContext)
    return ctx
