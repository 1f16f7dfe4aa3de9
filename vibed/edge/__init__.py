"""The edge: every HTTP connection of this instance, and the one place a request is routed.

    accept (server.py) ─► connection (connection.py: h11, keep-alive, timeouts, bodies)
        └─ for *each* request on it, first or tenth (router.py):
             guard: client address, per-IP limit, CORS preflight          (guard.py)
             ├─ stream (SSE GET, WebSocket upgrade) ─► the hub owns the socket, no task left
             │                                         (vibed/delivery; vibed/websocket)
             ├─ cached bytes, while no new event was delivered            (cache.py)
             └─ the Quart app, one request through Hypercorn's HTTPStream (asgi.py)
        every answer leaves through one renderer: security headers, CORS, RateLimit-*,
        and errors as ``{"error", "detail"}`` JSON                       (respond.py)
        preconditions (304, 412) and what a shared cache may hold          (conditional.py)

Routing per request, not per connection, is the point: a browser opens its EventSource on the
keep-alive connection that loaded the page, and a proxy pools its upstream connections, so the
stream request is rarely the first on its connection.  Nothing here imports asyncio.
"""
