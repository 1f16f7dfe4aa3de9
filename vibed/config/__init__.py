"""Configuration: one frozen record built from flags > environment > .env > TOML > defaults.

Every setting is declared once, as a typed field of ``Config`` whose metadata holds its
environment name, its parser, its default and its help line (``SETTINGS`` is the table read
from those fields); the CLI's ``--help`` and the README's table come from the same place.
A bad value raises ``ConfigError`` whose message names the key, the value and the fix.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import attrs
from dotenv import dotenv_values

from vibed.config.parsing import (
    Polling,
    Role,
    parse_bool,
    parse_cidrs,
    parse_cron,
    parse_csv,
    parse_duration,
    parse_float,
    parse_int,
    parse_languages,
    parse_markets,
    parse_role,
    parse_schedule,
    parse_url,
)
from vibed.logs.debug import OFF, DebugSpec, parse_debug
from vibed.logs.redact import redact_url, url_secrets


class ConfigError(ValueError):
    """A setting has a value the daemon cannot use; ``str()`` is the one line shown to the user."""


JWT_SECRET_MIN = 32  # bytes: HS256's key is as strong as its secret, and tokens can be guessed offline


def _jwt_secret(value: str) -> str:
    if len(value.encode()) < JWT_SECRET_MIN:
        raise ValueError(f"is shorter than {JWT_SECRET_MIN} bytes: use a long random secret, "
                         "e.g. the output of `openssl rand -hex 32`")
    return value


def _push_ttl(value: str) -> int:
    seconds = int(parse_duration(value))
    if seconds > 28 * 86400:
        raise ValueError("is longer than 28d, the most push services keep a message")
    return seconds


def _push_contact(value: str) -> str:
    if not value.startswith(("mailto:", "https://")):
        raise ValueError("is not a mailto: or https:// URL (e.g. mailto:ops@example.org)")
    return value


def _database_url(value: str) -> str:
    scheme = urlsplit(value).scheme
    if scheme not in ("postgresql", "postgres"):
        raise ValueError("is not a postgresql:// URL (e.g. postgresql://user:pass@host:5432/vibed)")
    return value


def _redis_url(value: str) -> str:
    if urlsplit(value).scheme not in ("redis", "rediss", "unix"):
        raise ValueError("is not a redis:// URL (e.g. redis://127.0.0.1:6379/0)")
    return value


def _port(value: str) -> int:
    return parse_int(value, low=0, high=65535, what="a port number")


def _period(value: str) -> float:
    seconds = parse_duration(value)
    if not 0.5 <= seconds <= 86400:
        raise ValueError("must be from 0.5s to 1d, e.g. 1h")
    return seconds


def _polling(value: str) -> Polling:
    mode = value.strip().lower()
    if mode == "adaptive":
        return "adaptive"
    if mode == "cron":
        return "cron"
    raise ValueError("is not a polling mode: use adaptive (the default) or cron")


def _trace_clock(value: str) -> str:
    from vibed.vocab.clock import Clock

    Clock.parse(value)
    return value.strip()


@attrs.frozen
class Setting:
    """One row of the settings table: a ``Config`` field and how it is read, shown and documented."""

    field: str
    env: str
    parse: Callable[[str], Any]
    default: Any
    help: str
    secret: bool = False
    flag: str | None = None  # command-line flag of `vibed run`, when there is one


_ROW = "vibed.setting"  # the key of a Config field's metadata that holds its row


def setting(env: str, parse: Callable[[str], Any], default: Any, help: str, *, secret: bool = False,
            flag: str | None = None) -> Any:
    """A ``Config`` field declared with its row of the table: environment name, parser, default, help."""
    row = {"env": env, "parse": parse, "default": default, "help": help, "secret": secret, "flag": flag}
    return attrs.field(default=default, repr=not secret, metadata={_ROW: row})


def _default_data_dir() -> str:
    # systemd's StateDirectory= sets STATE_DIRECTORY; as root /var/lib/vibed (the embedded server's user
    # must reach it, and root's home is closed to it); otherwise the XDG data home
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return state.split(":")[0]
    if os.geteuid() == 0:
        return "/var/lib/vibed"
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return str(Path(base) / "vibed")


@attrs.frozen
class Config:
    """The daemon's whole configuration, one typed field per setting; secrets are not in repr()."""

    database_url: str | None = setting("DATABASE_URL", _database_url, None,
        "PostgreSQL URL (sslmode honoured); unset = embedded PostgreSQL in the data dir", secret=True)
    redis_url: str | None = setting("REDIS_URL", _redis_url, None,
        "Redis URL for fan-out across instances; unset = in-process bus", secret=True)
    spotify_client_id: str | None = setting("SPOTIFY_CLIENT_ID", str, None, "Spotify app client id", secret=True)
    spotify_client_secret: str | None = setting("SPOTIFY_CLIENT_SECRET", str, None, "Spotify app client secret",
        secret=True)
    jwt_secret: str | None = setting("JWT_SECRET", _jwt_secret, None,
        "HS256 secret (at least 32 bytes) for control endpoints; unset = control endpoints answer "
        "direct loopback clients only", secret=True)
    jwt_max_ttl: float = setting("VIBED_JWT_MAX_TTL", parse_duration, 86400.0,
        "longest lifetime a control token may have (its exp at most this far ahead), e.g. 1h, 1d")
    jwt_audience: str = setting("VIBED_JWT_AUDIENCE", str, "vibed",
        "the aud claim control tokens must carry")
    port: int = setting("PORT", _port, 5006, "HTTP port", flag="--port")
    host: str = setting("VIBED_HOST", str, "0.0.0.0", "HTTP bind address", flag="--host")
    debug: DebugSpec = setting("DEBUG", parse_debug, OFF,
        "debug lines by namespace, the debug module's syntax: worker:* (or worker:fetcher, "
        "worker:scheduler …), http (the app), edge (every answer), stream, store, daemon, * for all of vibed's, a library logger "
        "by name (httpx, asyncpg, redis …), -name to leave one out; comma or space separated",
        flag="--debug")
    data_dir: str | None = setting("VIBED_DATA_DIR", str, None,
        "data directory (embedded PostgreSQL lives here); default $STATE_DIRECTORY, else "
        "/var/lib/vibed as root, else ~/.local/share/vibed", flag="--data-dir")
    languages: tuple[str, ...] = setting("VIBED_LANGUAGES", parse_languages, ("ml", "hi", "ta"),
        "comma-separated language codes to watch", flag="--languages")
    schedule: str = setting("VIBED_SCHEDULE", parse_cron, "*/10 * * * *", "cron expression for rounds",
        flag="--schedule")
    polling: Polling = setting("VIBED_POLLING", _polling, "adaptive",
        "adaptive: polls planned from the bucket and learned release rates, at least every schedule tick; "
        "cron: one round per schedule tick", flag="--polling")
    trace_clock: str | None = setting("VIBED_TRACE_CLOCK", _trace_clock, None,
        "benchmarks only: 'wall epoch,trace epoch,speed' runs the scheduler on a sped-up clock")
    jiosaavn_base_url: str = setting("JIOSAAVN_BASE_URL", parse_url, "https://www.jiosaavn.com",
        "JioSaavn base URL")
    spotify_api_url: str = setting("SPOTIFY_API_URL", parse_url, "https://api.spotify.com", "Spotify API URL")
    spotify_accounts_url: str = setting("SPOTIFY_ACCOUNTS_URL", parse_url, "https://accounts.spotify.com",
        "Spotify accounts URL")
    spotify_markets: tuple[str, ...] = setting("VIBED_SPOTIFY_MARKETS", parse_markets, ("IN",),
        "Spotify markets (country codes) to watch")
    fetchers: int = setting("VIBED_FETCHERS", lambda v: parse_int(v, low=1, high=64), 2,
        "concurrent page fetchers")
    page_cap: int = setting("VIBED_PAGE_CAP", lambda v: parse_int(v, low=1, high=100), 3,
        "most pages fetched per (source, language) in one round")
    page_size: int = setting("VIBED_PAGE_SIZE", lambda v: parse_int(v, low=1, high=100), 50,
        "items per upstream page")
    new_window_days: int = setting("VIBED_NEW_WINDOW_DAYS", lambda v: parse_int(v, low=0, high=3650), 7,
        "a first-seen release counts as new when released within this many days (or undated)")
    upstream_timeout: float = setting("VIBED_UPSTREAM_TIMEOUT", lambda v: parse_float(v, low=0.1, high=300), 10.0,
        "seconds before an upstream request times out")
    upstream_max_body: int = setting("VIBED_UPSTREAM_MAX_BODY",
        lambda v: parse_int(v, low=64 * 1024, high=1024 * 1024 * 1024), 8 * 1024 * 1024,
        "most bytes one upstream answer may decode to (after gzip/br); past it the answer is dropped as "
        "upstream trouble")
    db_pool_size: int = setting("VIBED_DB_POOL_SIZE", lambda v: parse_int(v, low=1, high=200), 10,
        "PostgreSQL connection pool size")
    db_connect_attempts: int = setting("VIBED_DB_CONNECT_ATTEMPTS", lambda v: parse_int(v, low=1, high=100), 5,
        "attempts to reach the database at start before giving up")
    db_timeout: float = setting("VIBED_DB_TIMEOUT", lambda v: parse_float(v, low=0.1, high=60), 1.5,
        "seconds one database query (and a pool acquire) may take before the request gets 503")
    db_statement_timeout: float = setting("VIBED_DB_STATEMENT_TIMEOUT", lambda v: parse_float(v, low=1, high=3600),
        60.0, "seconds PostgreSQL lets one statement run (its statement_timeout)")
    grace_period: float = setting("VIBED_GRACE_PERIOD", lambda v: parse_float(v, low=0.1, high=600), 8.0,
        "seconds allowed for a clean stop after SIGTERM/SIGINT")
    heartbeat: float = setting("VIBED_SSE_HEARTBEAT", lambda v: parse_float(v, low=0.1, high=3600), 15.0,
        "seconds between SSE comment heartbeats")
    replay_cap: int = setting("VIBED_REPLAY_CAP", lambda v: parse_int(v, low=1, high=1_000_000), 1000,
        "most events replayed to a reconnecting client before it is told to reset")
    replay_ring_events: int = setting("VIBED_REPLAY_RING_EVENTS", lambda v: parse_int(v, low=0, high=10_000_000),
        10_000, "recent events kept in memory, encoded, so reconnecting clients are replayed without a query")
    replay_ring_mib: int = setting("VIBED_REPLAY_RING_MIB", lambda v: parse_int(v, low=1, high=65_536), 32,
        "MiB of encoded frames the replay ring may hold (the older events then come from the database)")
    client_backlog: int = setting("VIBED_CLIENT_BACKLOG", lambda v: parse_int(v, low=1, high=100_000), 256,
        "frames queued for one slow stream client before it is disconnected")
    stream_stall_timeout: float = setting("VIBED_STREAM_STALL_TIMEOUT", lambda v: parse_float(v, low=1, high=3600), 30.0,
        "seconds a stream client may leave its socket unread before it is disconnected")
    edge_cache_ttl: float = setting("VIBED_EDGE_CACHE_TTL", lambda v: parse_float(v, low=0, high=3600), 2.0,
        "seconds the edge holds an answer at most (a delivered event ends it sooner)")
    max_streams: int = setting("VIBED_MAX_STREAMS", lambda v: parse_int(v, low=0, high=10_000_000), 0,
        "most concurrent SSE/WebSocket clients (0 = as many as file descriptors allow)")
    api_rate_limit: int = setting("VIBED_API_RATE_LIMIT", lambda v: parse_int(v, low=0, high=1_000_000), 120,
        "public API requests per minute per client IP (0 = off)")
    max_watches: int = setting("VIBED_MAX_WATCHES", lambda v: parse_int(v, low=1, high=100_000_000), 100_000,
        "most watches (POST /api/watches needs no account: this bounds the table)")
    stream_limit_per_ip: int = setting("VIBED_STREAM_LIMIT_PER_IP", lambda v: parse_int(v, low=0, high=1_000_000),
        20, "concurrent streams per client IP, as the API limit sees the client (0 = off)")
    connections_per_peer: int = setting("VIBED_CONNECTIONS_PER_PEER",
        lambda v: parse_int(v, low=0, high=1_000_000), 256,
        "concurrent connections from one address (an IPv6 /64); trusted proxies are exempt (0 = off)")
    cors_origins: tuple[str, ...] = setting("VIBED_CORS_ORIGINS", parse_csv, (),
        "allowed CORS origins, comma-separated (empty = same origin only)")
    trusted_proxies: tuple[str, ...] = setting("VIBED_TRUSTED_PROXIES", parse_cidrs, (),
        "peers whose X-Forwarded-For is believed, comma-separated addresses or networks (e.g. 10.0.0.0/8)")
    role: Role = setting("VIBED_ROLE", parse_role, "all",
        "all (everything), fetch (scheduler, fetchers, writer; HTTP health and metrics only) or serve "
        "(HTTP, streams, page; events from Redis, needs REDIS_URL)", flag="--role")
    simulate: bool = setting("VIBED_SIMULATE", parse_bool, False,
        "start the built-in upstream simulator and point the sources at it", flag="--simulate")
    simulate_port: int = setting("VIBED_SIMULATE_PORT", _port, 0, "simulator port (0 = a free one)",
        flag="--simulate-port")
    public_url: str | None = setting("VIBED_PUBLIC_URL", parse_url, None,
        "the URL people reach this daemon at, for links in feeds; default http://localhost:PORT")
    webhook_allow_http: bool = setting("VIBED_WEBHOOK_ALLOW_HTTP", parse_bool, False,
        "let webhook targets use plain http:// (default: https only)")
    webhook_allow_cidrs: tuple[str, ...] = setting("VIBED_WEBHOOK_ALLOW_CIDRS", parse_cidrs, (),
        "networks webhook targets may resolve to although they are loopback/private/link-local, "
        "comma-separated, e.g. 127.0.0.0/8")
    webhook_retry_schedule: tuple[float, ...] = setting("VIBED_WEBHOOK_RETRY_SCHEDULE", parse_schedule,
        (5.0, 30.0, 120.0, 600.0, 1800.0, 3600.0, 7200.0, 14400.0, 21600.0, 28800.0),
        "waits between a webhook delivery's attempts (each jittered ±20%), then dead-letter "
        "(the default adds up to about 22 h)")
    webhook_concurrency: int = setting("VIBED_WEBHOOK_CONCURRENCY", lambda v: parse_int(v, low=1, high=1000), 16,
        "webhook deliveries in flight at once (over all targets; one at a time per target, in order)")
    webhook_rate: float = setting("VIBED_WEBHOOK_RATE", lambda v: parse_float(v, low=0.01, high=10000), 20.0,
        "most webhook deliveries per second to one target")
    webhook_timeout: float = setting("VIBED_WEBHOOK_TIMEOUT", lambda v: parse_float(v, low=0.1, high=300), 10.0,
        "seconds one webhook delivery may take (connect, send, answer)")
    webhook_pause_after: int = setting("VIBED_WEBHOOK_PAUSE_AFTER", lambda v: parse_int(v, low=1, high=10000), 15,
        "consecutive failed attempts after which a webhook target is paused (see /api/health)")
    webhook_keep_delivered: float = setting("VIBED_WEBHOOK_KEEP_DELIVERED", parse_duration, 7 * 86400.0,
        "how long a delivered webhook delivery stays in its target's log, e.g. 7d")
    webhook_poll: float = setting("VIBED_WEBHOOK_POLL", lambda v: parse_float(v, low=0.05, high=86400), 1.0,
        "seconds between looks at the webhook outbox for retries that came due (a new event wakes it at once)")
    notify_workers: int = setting("VIBED_NOTIFY_WORKERS", lambda v: parse_int(v, low=1, high=256), 8,
        "notification-target messages in flight at once (Apprise runs in this many worker threads at most)")
    notify_retry_schedule: tuple[float, ...] = setting("VIBED_NOTIFY_RETRY_SCHEDULE", parse_schedule,
        (10.0, 60.0, 300.0, 1800.0, 7200.0),
        "waits between a notification message's attempts (each jittered ±20%), then dead-letter")
    notify_poll: float = setting("VIBED_NOTIFY_POLL", lambda v: parse_float(v, low=0.05, high=86400), 1.0,
        "seconds between looks at the notify outbox for digests, quiet hours' ends and retries that came due")
    notify_hourly: float = setting("VIBED_NOTIFY_HOURLY_PERIOD", _period, 3600.0,
        "the period of an hourly digest, counted from local midnight (shorten it to try digests out, e.g. 10s)")
    notify_daily: float = setting("VIBED_NOTIFY_DAILY_PERIOD", _period, 86400.0,
        "the period of a daily digest, counted from local midnight")
    notify_flood_limit: int = setting("VIBED_NOTIFY_FLOOD_LIMIT", lambda v: parse_int(v, low=1, high=10000), 3,
        "messages one target gets in a flood window before further releases are folded into one message")
    notify_flood_window: float = setting("VIBED_NOTIFY_FLOOD_WINDOW", _period, 60.0,
        "the flood guard's window, e.g. 1m")
    notify_pause_after: int = setting("VIBED_NOTIFY_PAUSE_AFTER", lambda v: parse_int(v, low=1, high=10000), 15,
        "failed messages in a row after which a notification target is paused (POST …/redeliver resumes it)")
    push_contact: str = setting("VIBED_PUSH_CONTACT", _push_contact, "mailto:vibed@localhost",
        "who push services may contact about this sender: the VAPID JWT's sub, a mailto: or https: URL")
    max_push_subscriptions: int = setting("VIBED_MAX_PUSH_SUBSCRIPTIONS",
        lambda v: parse_int(v, low=1, high=100_000_000), 100_000,
        "most Web Push subscriptions (POST /api/push/subscriptions needs no account: this bounds the table)")
    push_concurrency: int = setting("VIBED_PUSH_CONCURRENCY", lambda v: parse_int(v, low=1, high=10_000), 64,
        "Web Push deliveries in flight at once (over all subscriptions; one at a time per subscription, in order)")
    push_ttl: int = setting("VIBED_PUSH_TTL", _push_ttl, 86400,
        "how long a push service keeps a message for a device that is offline (the TTL header), e.g. 1d")
    stale_after: float = setting("VIBED_STALE_AFTER", parse_duration, 3600.0,
        "health says degraded when no process of the deployment has fetched a scope successfully for this "
        "long, e.g. 1h, 30m")

    @property
    def fetches(self) -> bool:
        """This process runs the pipeline: roles ``all`` and ``fetch``."""
        return self.role != "serve"

    @property
    def serves(self) -> bool:
        """This process serves the API, the page and streams: roles ``all`` and ``serve``."""
        return self.role != "fetch"

    @property
    def fetcher_count(self) -> int:
        """Fetchers this process runs: none in a serve process, whatever ``VIBED_FETCHERS`` says."""
        return self.fetchers if self.fetches else 0

SETTINGS: tuple[Setting, ...] = tuple(
    Setting(field=a.name, **a.metadata[_ROW]) for a in attrs.fields(Config)
)
BY_FIELD: dict[str, Setting] = {s.field: s for s in SETTINGS}
BY_ENV: dict[str, Setting] = {s.env: s for s in SETTINGS}


def secrets_of(config: Config) -> list[str]:
    """Values that must never appear in a log line or an error."""
    out: list[str] = []
    for s in SETTINGS:
        value = getattr(config, s.field)
        if s.secret and value:
            out.append(str(value))
            if "://" in str(value):
                out.extend(url_secrets(str(value)))
    return out


def resolved_data_dir(config: Config) -> Path:
    return Path(config.data_dir or _default_data_dir()).expanduser()


def _describe(setting: Setting, raw: Any) -> str:
    if setting.secret:
        return "'***'"
    return repr(redact_url(raw)) if isinstance(raw, str) and "://" in raw else repr(raw)


def _parse(setting: Setting, raw: Any, where: str) -> Any:
    if isinstance(raw, (list, tuple)) and setting.parse in (parse_languages, parse_markets, parse_csv, parse_cidrs,
                                                            parse_schedule):
        raw = ",".join(str(x) for x in raw)
    if isinstance(raw, bool):
        raw = "true" if raw else "false"
    try:
        return setting.parse(str(raw))
    except ValueError as exc:
        raise ConfigError(f"{setting.env}={_describe(setting, raw)} {exc} (from {where})") from None


def load_config(
    overrides: Mapping[str, Any] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | os.PathLike[str] | None = ".env",
    config_file: str | os.PathLike[str] | None = None,
) -> Config:
    """Build the configuration.  ``overrides`` (from flags) are keyed by field name."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}

    toml_path = Path(config_file) if config_file else Path("config/vibed.toml")
    if config_file and not toml_path.exists():
        raise ConfigError(f"--config {str(toml_path)!r} does not exist: give the path of a TOML file")
    if toml_path.exists():
        try:
            table = tomllib.loads(toml_path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{toml_path} cannot be read ({exc.strerror}): make it readable by the user vibed "
                              "runs as") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{toml_path} is not valid TOML: {exc}") from None
        table = table.get("vibed", table)
        for key, raw in table.items():
            setting = BY_FIELD.get(key) or BY_ENV.get(key)
            if setting is None:
                allowed = ", ".join(s.field for s in SETTINGS)
                raise ConfigError(f"{toml_path}: unknown key {key!r}; known keys: {allowed}")
            values[setting.field] = _parse(setting, raw, str(toml_path))

    layers: list[tuple[str, Mapping[str, Any]]] = []
    if env_file and Path(env_file).exists():
        try:
            with open(env_file, encoding="utf-8") as stream:
                from_file = dotenv_values(stream=stream)
        except OSError as exc:
            raise ConfigError(f"{env_file} cannot be read ({exc.strerror}): make it readable by the user vibed "
                              "runs as (e.g. chgrp vibed and chmod 0640)") from None
        layers.append((str(env_file), {k: v for k, v in from_file.items() if v is not None}))
    layers.append(("the environment", environ))
    for where, layer in layers:
        for setting in SETTINGS:
            raw = layer.get(setting.env)
            if raw is None or (raw == "" and setting.default is None):
                continue
            values[setting.field] = _parse(setting, raw, where)

    for field, raw in (overrides or {}).items():
        if raw is None:
            continue
        setting = BY_FIELD[field]
        values[field] = _parse(setting, raw, f"the command line ({setting.flag or field})")

    spotify = [values.get("spotify_client_id"), values.get("spotify_client_secret")]
    if any(spotify) and not all(spotify):
        missing = "SPOTIFY_CLIENT_SECRET" if spotify[0] else "SPOTIFY_CLIENT_ID"
        raise ConfigError(f"{missing} is not set: Spotify needs both SPOTIFY_CLIENT_ID and "
                          "SPOTIFY_CLIENT_SECRET (set both, or neither to disable Spotify)")
    if values.get("role", "all") != "all" and not values.get("database_url"):
        raise ConfigError(f"VIBED_ROLE={values['role']} needs DATABASE_URL: fetch and serve processes share one "
                          "PostgreSQL server (the embedded one belongs to a single process; use --role all)")
    if values.get("role") == "serve" and not values.get("redis_url"):
        raise ConfigError("VIBED_ROLE=serve needs REDIS_URL: a serve process takes its events from Redis, "
                          "where the fetch process publishes them (set REDIS_URL, or use --role all)")
    return Config(**values)
