"""JSON-lines logging on stdout in the guide's shape, via structlog.

    {"timestamp": "2026-11-28T19:00:00.123Z", "event": "fetch_success", "language": "ml", "page": 1, ...}

Third-party loggers (hypercorn, asyncpg) are routed through the same renderer, so stdout
carries nothing but JSON lines.  Known secret values are masked in every line.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from collections.abc import Iterable
from typing import Any

import structlog

from vibed.redact import redact_urls_in

_secrets: list[str] = []


def _timestamp(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    now = dt.datetime.now(dt.UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    # the guide's shape: timestamp first, then event, then fields
    return {"timestamp": stamp, "event": event.pop("event", ""), **event}


def _mask(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            if "://" in value:  # any URL, from us or a library: password and credential parameters hidden
                value = redact_urls_in(value)
            for secret in _secrets:
                if secret and secret in value:
                    value = value.replace(secret, "***")
            event[key] = value
    return event


def _render(_logger: Any, _name: str, event: dict[str, Any]) -> str:
    return json.dumps(event, default=str, ensure_ascii=False, separators=(", ", ": "))


class _StdlibBridge(logging.Handler):
    """Sends records of third-party stdlib loggers through structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's broken format string must not kill logging
            message = str(record.msg)
        log = structlog.get_logger(record.name)
        fields: dict[str, Any] = {"logger": record.name, "message": message}
        if record.exc_info and record.exc_info[1] is not None:
            fields["error"] = repr(record.exc_info[1])
        level = record.levelno
        name = "library_log"
        if level >= logging.ERROR:
            log.error(name, **fields)
        elif level >= logging.WARNING:
            log.warning(name, **fields)
        elif level >= logging.INFO:
            log.info(name, **fields)
        else:
            log.debug(name, **fields)


def configure_logging(*, debug: bool = False, secrets: Iterable[str] = (), stream: Any = None) -> None:
    """Set up (or re-set, on reload) the JSON renderer and the level."""
    _secrets[:] = sorted({s for s in secrets if s}, key=len, reverse=True)
    level = logging.DEBUG if debug else logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            _mask,
            _timestamp,
            _render,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(stream or sys.stdout),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler, _StdlibBridge):
            root.removeHandler(handler)
    root.addHandler(_StdlibBridge())
    root.setLevel(logging.DEBUG if debug else logging.WARNING)


def get_logger(name: str = "vibed") -> Any:
    return structlog.get_logger(name)
