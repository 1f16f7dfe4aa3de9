"""Why the daemon is not ``ok``, from the services' records: one short sentence per reason.

The pipeline's: fetching gone quiet across the deployment, empty buckets, sources (failing,
blocked, gone, suspiciously empty); the webhooks': paused targets.  ``HealthReport.reasons``
adds the database, the actors and the bus, and keeps this order.
"""

from __future__ import annotations

from vibed.health.records import PipelineHealth, WebhooksHealth

FAILED_ROUNDS = 3  # consecutive failed runs of one scope before health says so


def webhook_reasons(webhooks: WebhooksHealth) -> list[str]:
    """A paused webhook target degrades health until it is resumed (POST …/redeliver)."""
    return [f"webhook {wid}: paused after failing repeatedly (POST /api/webhooks/{wid}/redeliver resumes it)"
            for wid in webhooks.paused]


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
