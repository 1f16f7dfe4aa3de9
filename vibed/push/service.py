"""``open_push``: the VAPID key and the push sender of one process, as a handle the composition root holds.

It runs in every role, as the webhook sender does (the outboxes' one handle: vibed/outbox/service.py),
and every process signs with the one key in ``push_vapid``.
"""

from __future__ import annotations

import trio

from vibed.config import Config
from vibed.health import PushHealth
from vibed.outbox.service import OutboxService, open_outbox
from vibed.push import keys, subscriptions
from vibed.push.sender import PushSender, PushSettings
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor

PushService = OutboxService[PushSender, PushHealth]


async def open_push(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> PushService:
    vapid = await keys.load_or_make(db, config.push_contact)
    return await open_outbox(nursery, sup, "push", db, PushSender(db, vapid, PushSettings.of(config)),
                             subscriptions.health)
