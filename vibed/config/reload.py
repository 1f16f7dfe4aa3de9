"""SIGHUP: read the configuration again (file, .env, environment as at start) and apply it live.

What changes without a restart is ``LIVE``: what the running actors and handlers read again
(languages, schedule, page cap, fetcher count, ``DEBUG``, the new window, ``JWT_SECRET``; at the
edge trusted proxies, CORS origins, the per-IP API limit and the connections per peer; in the
hub the per-IP stream limit, the heartbeat and the stall timeout), and Spotify's "gone" flag is
forgotten, so a re-enabled app is tried again.  Every other setting was built into something at
start (the pool, the sources, the listening socket): a change to it is reported as needing a
restart, and the running value stays.  An invalid new
configuration is refused with one log line and the old one stays in force.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

from vibed.config import Config, ConfigError, secrets_of
from vibed.logs import configure_logging, get_logger

log = get_logger("vibed.reload")
LIVE = ("languages", "schedule", "page_cap", "fetchers", "debug", "new_window_days", "jwt_secret",
        "trusted_proxies", "cors_origins", "api_rate_limit", "connections_per_peer", "stream_limit_per_ip",
        "heartbeat", "stream_stall_timeout")


def reload_config(old: Config, load: Callable[[], Config]) -> Config | None:
    """Load and validate: the configuration to put in force (what needs a restart kept as it was), or
    None when the new one is refused."""
    try:
        new = load()
    except ConfigError as exc:
        log.error("config_reload_failed", error=str(exc), action="the previous configuration stays in force")
        return None
    if old.simulate:
        # --simulate rewrote the upstream URLs at start; keep them
        new = _keep(new, old, ("simulate", "jiosaavn_base_url", "spotify_api_url", "spotify_accounts_url",
                               "spotify_client_id", "spotify_client_secret"))
    pending = [name for name in _fields(new) if name not in LIVE and getattr(new, name) != getattr(old, name)]
    new = _keep(new, old, tuple(pending))
    changed = sorted(name for name in _fields(new) if getattr(new, name) != getattr(old, name))
    configure_logging(debug=new.debug, secrets=secrets_of(new))
    log.info("config_reloaded", changed=",".join(changed) or "nothing",
             needs_restart=",".join(pending) or None)
    return new


def _fields(config: Config) -> list[str]:
    return [f.name for f in attrs.fields(type(config))]


def _keep(new: Config, old: Config, names: tuple[str, ...]) -> Config:
    return attrs.evolve(new, **{name: getattr(old, name) for name in names}) if names else new
