"""The private keys between the edge and the app, each defined once.

    EDGE_CACHE   header: the app marks an answer the edge may serve from memory (vibed/edge/cache.py)
    ROUTE        header: the app names an answer's route template, for the edge's per-route metrics
    CLIENT_IP    the ASGI scope ``state`` key of the client address the edge resolved

The edge strips every ``x-vibed-*`` header before an answer leaves the process.
"""

EDGE_CACHE = "x-vibed-edge-cache"
ROUTE = "x-vibed-route"
CLIENT_IP = "vibed.client_ip"
