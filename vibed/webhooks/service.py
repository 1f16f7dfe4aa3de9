"""``open_webhooks``: the webhook sender of one process, as a handle the composition root holds.

It runs in every role, woken by every delivered event: the outboxes' one handle (vibed/outbox/service.py).
"""

from __future__ import annotations

import trio

from vibed.config import Config
from vibed.health import WebhooksHealth
from vibed.outbox.service import OutboxService, open_outbox
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.webhooks import subscriptions
from vibed.webhooks.sender import SenderSettings, WebhookSender

WebhooksService = OutboxService[WebhookSender, WebhooksHealth]


async def open_webhooks(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> WebhooksService:
    return await open_outbox(nursery, sup, "webhooks", db, WebhookSender(db, SenderSettings.of(config)),
                             subscriptions.health)
