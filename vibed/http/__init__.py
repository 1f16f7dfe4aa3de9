"""HTTP: the Quart-Trio application, served one request at a time by the edge (vibed/edge/asgi.py).

    app.py              the app (the one ``app.py`` of vibed): routes registered, errors in one shape
    releases.py · feeds.py · cursor.py · listing_params.py     the release list, its feeds and cursors
    webhooks_api.py · webhook_bodies.py                        /api/webhooks (the rest: vibed/webhooks)
    control.py · auth.py · local_authority.py · protection.py  POST /fetch, its JWTs, loopback checks
    health.py · metrics_api.py · ratelimit_api.py · roles.py   health, /metrics, buckets, role refusals
    page.py (+ static/)                                         the live page
    errors.py                                                   the ``{"error", "detail"}`` shape

The OpenAPI document is vibed/openapi.
"""
