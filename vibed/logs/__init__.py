"""JSON-lines logging on stdout in the guide's shape, via structlog.

    {"timestamp": "2026-11-28T19:00:00.123Z", "event": "fetch_success", "language": "ml", "page": 1, ...}

Third-party loggers (hypercorn, asyncpg) are routed through the same renderer, so stdout
carries nothing but JSON lines.  Known secret values are masked in every line.  Debug lines
are printed per namespace, as ``DEBUG`` asks (see ``vibed.logs.debug``).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from typing import Any

import structlog
from structlog.typing import FilteringBoundLogger

from vibed.logs.debug import OFF, DebugSpec, namespace_of, parse_debug
from vibed.logs.redact import redact_urls_in
from vibed.vocab.clock import utc_iso

_secrets: list[str] = []
_debug_libraries: list[str] = []  # library loggers set to DEBUG by the last configure_logging
_SURROGATE = re.compile("[\ud800-\udfff]")  # lone surrogates: valid in a str, not in UTF-8
_NS = "_ns"  # the namespace a vibed logger carries into its event dict (popped before rendering)
_spec: list[DebugSpec] = [OFF]  # what the last configure_logging said


def _only_enabled(spec: DebugSpec) -> Any:
    def processor(_logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        namespace = event.pop(_NS, None)  # None: a library record, already filtered by its level
        if method == "debug" and namespace is not None:
            if not spec.enabled(namespace):
                raise structlog.DropEvent
            event["namespace"] = namespace  # which DEBUG word printed it
        return event

    return processor


def _timestamp(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    stamp = utc_iso(dt.datetime.now(dt.UTC))
    # the guide's shape: timestamp first, then event, then fields
    return {"timestamp": stamp, "event": event.pop("event", ""), **event}


def _mask(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key, value in event.items():
        if isinstance(value, str):
            if "://" in value:  # any URL, from us or a library: password and credential parameters hidden
                value = redact_urls_in(value)
            for secret in _secrets:
                if secret and secret in value:
                    value = value.replace(secret, "***")
            event[key] = value
    return event


def _render(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> str:
    line = json.dumps(event, default=str, ensure_ascii=False, separators=(", ", ": "))
    if _SURROGATE.search(line):  # not UTF-8: writing it would raise in whoever logged it
        line = json.dumps(event, default=str, ensure_ascii=True, separators=(", ", ": "))
    return line


class _StdlibBridge(logging.Handler):
    """Sends records of third-party stdlib loggers through structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
        except Exception:  # a library's broken format string must not kill logging
            message = str(record.msg)
        log = structlog.get_logger(record.name, **{_NS: None})
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


def configure_logging(*, debug: DebugSpec | bool = OFF, secrets: Iterable[str] = (), stream: Any = None) -> None:
    """Set up (or re-set, on reload) the JSON renderer and which debug lines print."""
    spec = parse_debug("*" if debug is True else "") if isinstance(debug, bool) else debug
    _secrets[:] = sorted({s for s in secrets if s}, key=len, reverse=True)
    _spec[0] = spec
    level = logging.DEBUG if spec else logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            _only_enabled(spec),
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
    # libraries speak at WARNING and above, unless DEBUG names them
    root.setLevel(logging.WARNING)
    for name in _debug_libraries:
        logging.getLogger(name).setLevel(logging.NOTSET)
    _debug_libraries[:] = spec.libraries
    for name in spec.libraries:
        logging.getLogger(name).setLevel(logging.DEBUG)
    if spec.unknown:
        known = ", ".join(_known())
        get_logger("vibed").warning("debug_namespace_unknown", names=",".join(spec.unknown),
                                    detail=f"ignored; namespaces: {known}, or a library logger by name")


def _known() -> tuple[str, ...]:
    from vibed.logs.debug import KNOWN, LIBRARIES

    return (*KNOWN, "worker:*", *LIBRARIES)


def debug_on(name: str) -> bool:
    """Whether a debug line of ``name``'s namespace would print: a hot path (one per connection)
    asks first, because each call on a logger binds a new one (the configuration may be reloaded)."""
    spec = _spec[0]
    return bool(spec) and spec.enabled(namespace_of(name))


def get_logger(name: str = "vibed") -> FilteringBoundLogger:
    """A logger of ``name``'s namespace (``vibed.fetcher`` → ``worker:fetcher``)."""
    logger: FilteringBoundLogger = structlog.get_logger(name, **{_NS: namespace_of(name)})
    return logger
