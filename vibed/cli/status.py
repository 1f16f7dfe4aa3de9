"""``vibed status``: a running daemon's ``HealthReport`` (read back from its JSON), as a summary a person can read."""

from __future__ import annotations

from vibed.health import HealthReport


def _when(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "never"


def render_status(report: HealthReport) -> str:
    lines = [f"vibed {report.version}: {report.status.upper()}   up {_duration(report.uptime_s)}   "
             f"role {report.role}"]
    for reason in report.reasons():
        lines.append(f"reason     {reason}")
    lines.append(f"database   {'reachable' if report.database_reachable else 'UNREACHABLE'}"
                 f" ({'embedded' if report.embedded else 'external'})")
    if report.delivery is not None:
        bus, streams = report.delivery.bus, report.delivery.streams
        lines.append(f"bus        {bus.kind}: {bus.state}")
        lines.append(f"clients    {streams.sse + streams.websocket} connected ({streams.sse} SSE, "
                     f"{streams.websocket} WebSocket)")
    pipeline = report.pipeline
    if pipeline is not None:
        for service, b in sorted(pipeline.buckets.items()):
            nxt = b.next_token_s
            lines.append(f"bucket     {service}: {b.tokens:g} of {b.max_tokens:g} tokens"
                         + (f", next in {nxt:g}s" if nxt else ""))
        age = pipeline.last_fetch_age_s
        lines.append("fetched    " + ("never" if age is None else f"{_duration(age)} ago") + " (any process)")
        last = pipeline.last_round
        if last is not None:
            lines.append(f"rounds     {pipeline.rounds}; last {last.id} ({last.origin}): "
                         f"{last.requests} requests, {last.new} new")
        for name, source in sorted(pipeline.sources.items()):
            state = "available" if source.available else "UNAVAILABLE (gone for this account)"
            lines.append(f"source     {name}: {state}")
            for scope, sc in sorted(source.scopes.items()):
                extra = ""
                if sc.backing_off_until:
                    extra = f", backing off until {_when(sc.backing_off_until)}"
                if sc.consecutive_failures:
                    extra += f", {sc.consecutive_failures} failures ({sc.last_error})"
                lines.append(f"  {scope:<6} {sc.state:<12} last success {_when(sc.last_success)}{extra}")
    for name, actor in sorted(report.actors.items()):
        if actor.state != "running" or actor.restarts:
            lines.append(f"actor      {name}: {actor.state}, {actor.restarts} restarts"
                         + (f" ({actor.last_error})" if actor.last_error else ""))
    return "\n".join(lines)


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s"
