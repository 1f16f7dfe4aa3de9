"""vibed: a real-time new-releases daemon for Indian-language music.

Where things are, floor by floor (an import only runs down; `lint-imports` checks it, with the floors
in pyproject.toml's [tool.importlinter]):

    cli/                         the ``vibed`` command
    daemon.py                    start-up and drain: the database, the loop, the supervisor, the services
    wiring.py                    the one place channels are created and services started
    http/ · roles.py             the Quart app (API, health, page) · fetch/serve roles over Redis
    edge/ · openapi/             every connection, routed per request · the API's OpenAPI document
    websocket/                   WebSocket streams: upgrade, session, messages
    pipeline/ · delivery/ · webhooks/ · sources/ · embedded/ · simulator/
                                 the feature rooms: fetching (scheduler → fetchers → writer) · streams
                                 and the Redis bus · signed deliveries · upstream clients · the embedded
                                 PostgreSQL server's process · the stand-in upstream
    health/                      health as records
    store/ · config/ · feeds/ · metrics.py · notify.py · supervisor.py
                                 PostgreSQL and Redis (the asyncio bridge) · settings · feed rendering ·
                                 Prometheus · systemd's notify socket · one-for-one supervision
    logs/                        JSON-lines logs
    vocab/                       the shared words: messages, languages, clock and ``utc_iso``, back-off,
                                 wire helpers, the client's address, the edge↔app keys
"""

__version__ = "0.1.0"
