"""Why the daemon is not ``ok``: one short sentence per reason, read from the health records.

In order: the database, actors restarting or failed, the bus, fetching gone quiet across the
deployment, empty buckets, sources (failing, blocked, gone, suspiciously empty) and paused
webhook targets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the records' module imports this one when a report is asked for its reasons
    from vibed.health import HealthReport, PipelineHealth

FAILED_ROUNDS = 3  # consecutive failed runs of one scope before health says so


def reasons(report: HealthReport) -> list[str]:
    out: list[str] = []
    if not report.database_reachable:
        out.append("database: not answering")
    out += [f"actor {name}: {a.state}" for name, a in report.actors.items() if a.state in ("restarting", "failed")]
    if report.delivery is not None and report.delivery.bus.state != "ok":
        out.append(f"bus: {report.delivery.bus.state}")
    if report.pipeline is not None:
        out += pipeline_reasons(report.pipeline, uptime_s=report.uptime_s)
    if report.webhooks is not None:
        out += [f"webhook {wid}: paused after failing repeatedly (POST /api/webhooks/{wid}/redeliver resumes it)"
                for wid in report.webhooks.paused]
    return out


def pipeline_reasons(pipeline: PipelineHealth, *, uptime_s: float) -> list[str]:
    out: list[str] = []
    age = pipeline.last_fetch_age_s
    stale = pipeline.stale_after_s
    if age is None and uptime_s >= stale:
        out.append(f"fetch: no fetch has succeeded anywhere in the deployment in {_span(uptime_s)} "
                   f"(VIBED_STALE_AFTER={_span(stale)})")
    elif age is not None and age >= stale:
        out.append(f"fetch: no fetch has succeeded anywhere in the deployment for {_span(age)} "
                   f"(VIBED_STALE_AFTER={_span(stale)})")
    for service, bucket in sorted(pipeline.buckets.items()):
        if bucket.tokens < 1:
            nxt = "" if bucket.next_token_s is None else f"; the next token in {bucket.next_token_s:g} s"
            out.append(f"bucket {service}: empty ({bucket.tokens:g} of {bucket.max_tokens:g} tokens{nxt})")
    for name, source in sorted(pipeline.sources.items()):
        if not source.available:
            out.append(f"{name}: gone for this account (new-releases answered 403/404)")
            continue
        for scope, s in sorted(source.scopes.items()):
            where = f"{name}/{scope}"
            error = s.last_error or "?"
            if s.state == "blocked":
                out.append(f"{where}: blocked by upstream ({error})")
            elif s.state == "suspect_empty":
                out.append(f"{where}: suspiciously empty for {s.empty_streak} runs")
            elif s.consecutive_failures >= FAILED_ROUNDS:
                out.append(f"{where}: failed {s.consecutive_failures} runs in a row ({error})")
    return out


def _span(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"
