"""``HealthReport``: the services' records joined, with ``status`` and ``reasons()``.

A reason is one short sentence; ``status`` follows from them: ``unavailable`` while the
database does not answer, ``degraded`` while any reason stands, else ``ok``.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from vibed.config.parsing import Role
from vibed.health.reasons import pipeline_reasons, webhook_reasons
from vibed.health.records import (
    ActorHealth,
    DeliveryHealth,
    EdgeHealth,
    PipelineHealth,
    PushHealth,
    Status,
    TargetsHealth,
    WebhooksHealth,
)


@attrs.frozen
class HealthReport:
    version: str
    role: Role
    uptime_s: float
    database_reachable: bool
    embedded: bool
    actors: Mapping[str, ActorHealth]
    pipeline: PipelineHealth | None = None
    delivery: DeliveryHealth | None = None
    webhooks: WebhooksHealth | None = None
    notify_targets: TargetsHealth | None = None
    push: PushHealth | None = None  # counts only: a dead push delivery is one browser's loss, not the daemon's
    edge: EdgeHealth | None = None
    incomplete: tuple[str, ...] = ()  # parts that missed the deadline or failed

    @property
    def status(self) -> Status:
        if not self.database_reachable:
            return "unavailable"
        return "degraded" if self.reasons() else "ok"

    def reasons(self) -> list[str]:
        """In order: the database, actors restarting or failed, the bus, the pipeline's (fetching gone quiet,
        empty buckets, sources), paused webhook targets."""
        out: list[str] = []
        if not self.database_reachable:
            out.append("database: not answering")
        out += [f"actor {name}: {a.state}" for name, a in self.actors.items() if a.state in ("restarting", "failed")]
        if self.delivery is not None and self.delivery.bus.state != "ok":
            out.append(f"bus: {self.delivery.bus.state}")
        if self.pipeline is not None:
            out += pipeline_reasons(self.pipeline, uptime_s=self.uptime_s)
        if self.webhooks is not None:
            out += webhook_reasons(self.webhooks)
        if self.notify_targets is not None:
            out += [f"notify target {tid}: paused after failing repeatedly (POST /api/notify/targets/{tid}/redeliver "
                    "resumes it)" for tid in self.notify_targets.paused]
        return out
