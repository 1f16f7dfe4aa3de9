"""``vibed status``: the health JSON of a running daemon, as a summary a person can read."""

from __future__ import annotations

from typing import Any


def _when(value: str | None) -> str:
    return value.replace("T", " ").replace("Z", " UTC") if value else "never"


def render_status(health: dict[str, Any]) -> str:
    lines = [
        f"vibed {health.get('version', '?')}: {health.get('status', 'unknown').upper()}"
        f"   up {_duration(health.get('uptime_s'))}",
    ]
    for reason in health.get("reasons", []):
        lines.append(f"reason     {reason}")
    db = health.get("database", {})
    lines.append(f"database   {'reachable' if db.get('reachable') else 'UNREACHABLE'}"
                 f" ({'embedded' if db.get('embedded') else 'external'})")
    bus = health.get("bus")
    if bus:
        lines.append(f"bus        {bus.get('kind', '?')}: {bus.get('state', '?')}")
    stream = health.get("streams")
    if stream:
        sse, ws = stream.get("sse", 0), stream.get("websocket", 0)
        lines.append(f"clients    {sse + ws} connected ({sse} SSE, {ws} WebSocket)")
    for service, b in sorted(health.get("buckets", {}).items()):
        nxt = b.get("next_token_s")
        lines.append(f"bucket     {service}: {b.get('tokens')} of {b.get('max_tokens')} tokens"
                     + (f", next in {nxt:g}s" if nxt else ""))
    rounds = health.get("rounds", {})
    last = rounds.get("last")
    if last:
        lines.append(f"rounds     {rounds.get('count', 0)}; last {last['id']} ({last['origin']}): "
                     f"{last['requests']} requests, {last['new']} new")
    for name, source in sorted(health.get("sources", {}).items()):
        state = "available" if source.get("available") else "UNAVAILABLE (gone for this account)"
        lines.append(f"source     {name}: {state}")
        for scope, s in sorted(source.get("scopes", {}).items()):
            extra = ""
            if s.get("backing_off_until"):
                extra = f", backing off until {_when(s['backing_off_until'])}"
            if s.get("consecutive_failures"):
                extra += f", {s['consecutive_failures']} failures ({s.get('last_error')})"
            lines.append(f"  {scope:<6} {s.get('state'):<12} last success {_when(s.get('last_success'))}{extra}")
    for name, actor in sorted(health.get("actors", {}).items()):
        if actor.get("state") != "running" or actor.get("restarts"):
            lines.append(f"actor      {name}: {actor.get('state')}, {actor.get('restarts')} restarts"
                         + (f" ({actor['last_error']})" if actor.get("last_error") else ""))
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
