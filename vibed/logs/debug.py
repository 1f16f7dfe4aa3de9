"""``DEBUG`` in the ``debug`` module's syntax: which loggers print their debug lines.

    DEBUG=worker:*                 every worker (scheduler, fetchers, writer, control, supervisor)
    DEBUG=worker:*,-worker:writer  the same, without the writer
    DEBUG="http stream"            comma or space separated
    DEBUG=edge                     every answer the edge writes (method, path, status, route)
    DEBUG=*                        every vibed namespace; library loggers only when named
    DEBUG=worker:fetcher,httpx     a library logger, by its name

vibed's namespaces map its loggers (``vibed.fetcher`` → ``worker:fetcher``): ``http`` is the app
(one ``app_answered`` line per request it runs), ``edge`` the HTTP server in front of it (one
``answer_sent`` per answer, cached or refused ones included), ``stream`` the SSE/WebSocket
clients (``stream_opened``, ``stream_closed``).  Every debug line names its namespace
(``"namespace": "edge"``).  The original system's own names are understood: ``server:*`` is its
HTTP side (``http``, ``edge``, ``stream``) and ``express:*`` its HTTP framework (``http``, ``edge``).  A name that matches nothing is reported once by
whoever configures logging, never refused: a typo must not stop a daemon.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

import attrs

# logger name → namespace
NAMESPACES: dict[str, str] = {
    "vibed.scheduler": "worker:scheduler",
    "vibed.fetcher": "worker:fetcher",
    "vibed.writer": "worker:writer",
    "vibed.control": "worker:control",
    "vibed.supervisor": "worker:supervisor",
    "vibed.backfill": "worker:backfill",
    "vibed.http": "http",
    "vibed.edge": "edge",
    "vibed.delivery": "stream",
    "vibed.bus": "stream",
    "vibed.store": "store",
    "vibed.migrate": "store",
    "vibed.embedded": "store",
    "vibed": "daemon",
    "vibed.daemon": "daemon",
    "vibed.wiring": "daemon",
    "vibed.reload": "daemon",
    "vibed.notify": "daemon",
}
KNOWN = tuple(sorted(set(NAMESPACES.values())))
# the libraries whose stdlib loggers can be asked for by name (their first dotted part)
LIBRARIES = ("asyncio", "asyncpg", "h11", "httpcore", "httpx", "hypercorn", "quart", "redis", "trio_asyncio",
             "trio_websocket")
# the original system's namespaces, in vibed's terms
ALIASES = {"server": ("http", "edge", "stream"), "express": ("http", "edge")}


def namespace_of(logger_name: str) -> str:
    return NAMESPACES.get(logger_name, "daemon" if logger_name.startswith("vibed") else logger_name)


@attrs.frozen
class DebugSpec:
    """A parsed ``DEBUG`` value.  ``bool(spec)``: any debug line at all."""

    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    libraries: tuple[str, ...] = ()  # library loggers named, e.g. ("httpx",)
    unknown: tuple[str, ...] = ()  # names that match nothing (to be warned about, once)
    text: str = ""

    def __bool__(self) -> bool:
        return bool(self.include or self.libraries)

    def enabled(self, namespace: str) -> bool:
        if any(fnmatchcase(namespace, pattern) for pattern in self.exclude):
            return False
        return any(fnmatchcase(namespace, pattern) for pattern in self.include)

    def __str__(self) -> str:
        return self.text


OFF = DebugSpec()
_FALSE = ("", "0", "false", "no", "off")
_TRUE = ("1", "true", "yes", "on")


def _expand(pattern: str) -> tuple[str, ...]:
    head, _, rest = pattern.partition(":")
    if head in ALIASES and rest in ("", "*"):
        return ALIASES[head]
    return (pattern,)


def parse_debug(value: str) -> DebugSpec:
    """Never raises: what it does not know goes to ``unknown``."""
    text = value.strip()
    if text.lower() in _FALSE:
        return OFF
    if text.lower() in _TRUE:
        return DebugSpec(include=("*",), text=text)
    include: list[str] = []
    exclude: list[str] = []
    libraries: list[str] = []
    unknown: list[str] = []
    for word in text.replace(",", " ").split():
        negative = word.startswith("-")
        name = word[1:] if negative else word
        if not name:
            continue
        if name.split(".")[0] in LIBRARIES:
            if not negative:
                libraries.append(name)
            continue
        patterns = _expand(name)
        if not any(fnmatchcase(known, p) for p in patterns for known in KNOWN):
            unknown.append(word)
            continue
        (exclude if negative else include).extend(patterns)
    return DebugSpec(tuple(include), tuple(exclude), tuple(libraries), tuple(unknown), text)
