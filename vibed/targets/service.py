"""``open_targets``: the notify sender of one process, as a handle the composition root holds.

It runs in every role, woken by every delivered event: the outboxes' one handle (vibed/outbox/service.py).
"""

from __future__ import annotations

import trio

from vibed.config import Config
from vibed.health import TargetsHealth
from vibed.outbox.service import OutboxService, open_outbox
from vibed.store.postgres import Database
from vibed.supervisor import Supervisor
from vibed.targets import registry
from vibed.targets.sender import SenderSettings, TargetSender

TargetsService = OutboxService[TargetSender, TargetsHealth]


async def open_targets(nursery: trio.Nursery, sup: Supervisor, config: Config, db: Database) -> TargetsService:
    return await open_outbox(nursery, sup, "notify-targets", db, TargetSender(db, SenderSettings.of(config)),
                             registry.health)
