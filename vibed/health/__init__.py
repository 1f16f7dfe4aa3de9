"""Health as records: each service reports one, and ``HealthReport`` joins them.

    PipelineHealth ─┐                       /api/health  (render.to_json, once)
    DeliveryHealth ─┼─► HealthReport ──────► vibed status (render.from_json: the same record back)
    WebhooksHealth ─┘   .status, .reasons()  /metrics     (the same service records)

records.py holds the services' records, reasons.py the sentences read from them, report.py the
report, render.py its JSON, gather.py how the daemon collects one within its deadline.
"""

from vibed.health.records import (
    ActorHealth as ActorHealth,
)
from vibed.health.records import (
    BucketHealth as BucketHealth,
)
from vibed.health.records import (
    BudgetPoll as BudgetPoll,
)
from vibed.health.records import (
    BusHealth as BusHealth,
)
from vibed.health.records import (
    DeliveryHealth as DeliveryHealth,
)
from vibed.health.records import (
    EdgeHealth as EdgeHealth,
)
from vibed.health.records import (
    PipelineHealth as PipelineHealth,
)
from vibed.health.records import (
    PollingPlan as PollingPlan,
)
from vibed.health.records import (
    PushHealth as PushHealth,
)
from vibed.health.records import (
    RecentHealth as RecentHealth,
)
from vibed.health.records import (
    ReplayHealth as ReplayHealth,
)
from vibed.health.records import (
    RoundSummary as RoundSummary,
)
from vibed.health.records import (
    ScopePoll as ScopePoll,
)
from vibed.health.records import (
    ScopeReport as ScopeReport,
)
from vibed.health.records import (
    ScopeState as ScopeState,
)
from vibed.health.records import (
    SourceHealth as SourceHealth,
)
from vibed.health.records import (
    Status as Status,
)
from vibed.health.records import (
    StreamsHealth as StreamsHealth,
)
from vibed.health.records import (
    TargetsHealth as TargetsHealth,
)
from vibed.health.records import (
    WebhooksHealth as WebhooksHealth,
)
from vibed.health.records import (
    without_addresses as without_addresses,
)
from vibed.health.report import HealthReport as HealthReport
