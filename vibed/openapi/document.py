"""``GET /openapi.json``: the OpenAPI 3.1 document of every endpoint, checked against real answers.

The stream endpoints are served by the edge (vibed/edge) before Quart sees them, and the
WebSocket one cannot be exercised by an HTTP client: both are described for humans and
generated clients (``x-documented-only``), and the conformance tests leave them out.
"""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, jsonify
from quart_trio import QuartTrio

import vibed
from vibed.openapi import watches
from vibed.openapi.push_paths import PUSH_PATHS, PUSH_SCHEMAS
from vibed.openapi.schemas import HEADERS, KINDS, LIMITED, RESPONSES, SCHEMAS, SOURCES, error
from vibed.openapi.watches import WATCH_PARAM
from vibed.vocab.edge_keys import EDGE_CACHE
from vibed.vocab.languages import LANGUAGES
from vibed.vocab.release_filter import MAX_ARTISTS

blueprint = Blueprint("openapi", __name__)


def register(app: QuartTrio) -> None:
    app.register_blueprint(blueprint)


def _json(ref: str, description: str, **headers: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description,
                           "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}
    if headers:
        out["headers"] = headers
    return out


def _query(name: str, schema: dict[str, Any], description: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description,
            **extra}


_LANGUAGE = _query("language", {"type": "array", "items": {"type": "string", "enum": list(LANGUAGES)}},
                   "language codes; repeat the parameter or separate with commas", style="form", explode=True)
_SOURCE = _query("source", {"type": "array", "items": {"type": "string", "enum": SOURCES}},
                 "only these sources; repeat the parameter or separate with commas", style="form", explode=True)
_KIND = _query("kind", {"type": "array", "items": {"type": "string", "enum": KINDS}},
               "only albums or only songs; repeat the parameter or separate with commas", style="form", explode=True)
_ARTIST = _query("artist", {"type": "array", "maxItems": MAX_ARTISTS, "items": {"type": "integer", "minimum": 1}},
                 f"artist ids from /api/artists (at most {MAX_ARTISTS}): releases by any of them; repeat the "
                 "parameter or separate with commas", style="form", explode=True)
_BAD = {"$ref": "#/components/responses/BadRequest"}
_LIMITED = {"$ref": "#/components/responses/TooManyRequests"}
_ETAG = {"ETag": {"$ref": "#/components/headers/ETag"}}
_WWW_AUTH = {"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}
_STREAM: dict[str, Any] = {
    "summary": "Server-Sent Events: every new release as it is stored",
    "x-documented-only": True,
    "description": "`id:` is the event id; reconnect with `Last-Event-ID` (or `last_event_id`) to be "
                   "replayed what you missed, or told `event: reset` when the gap is too old.",
    "parameters": [_LANGUAGE, _SOURCE, _KIND, _ARTIST, WATCH_PARAM,
                   _query("last_event_id", {"type": "integer", "minimum": 0}, "resume after this event id"),
                   {"name": "Last-Event-ID", "in": "header", "required": False,
                    "schema": {"type": "integer", "minimum": 0}, "description": "as sent by EventSource"}],
    "responses": {"200": {"description": "an endless event stream",
                          "content": {"text/event-stream": {"schema": {"type": "string"}}}},
                  "400": error("a filter or event id is invalid"),
                  "404": error("`watch` names no watch"),
                  "503": error("too many open streams", **{"Retry-After": {"$ref": "#/components/headers/Retry-After"}})},
}

_CONTROL_AUTH = ("With JWT_SECRET set a Bearer JWT (HS256, `exp`, `aud` and `sub` required) is needed; without "
                 "it only direct loopback clients are answered, addressed to a local Host, from no other site's "
                 "page (Origin, Sec-Fetch-Site). A subscription belongs to the token's `sub` (or to loopback): "
                 "another owner gets 404. A body is JSON, sent as `Content-Type: application/json`.")
_FORBIDDEN = error("JWT_SECRET is unset and the client is not on loopback, the Host is not local, or the request "
                   "comes from another site's page", **LIMITED)
_NOT_JSON = error("the body is not declared JSON (Content-Type: application/json)")
_CONTROL_ERRORS: dict[str, Any] = {
    "400": _BAD, "401": error("missing, malformed, expired or wrongly signed token", **_WWW_AUTH, **LIMITED),
    "403": _FORBIDDEN, "413": error("the body is larger than 64 KiB"), "415": _NOT_JSON, "429": _LIMITED}
_WEBHOOK_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

PATHS: dict[str, Any] = {
    "/api/health": {"get": {"operationId": "health", "summary": "is the daemon doing its job (never rate-limited)",
                            "responses": {"200": _json("Health", "healthy or degraded"),
                                          "503": _json("Health", "the database does not answer")}}},
    "/api/new-releases": {"get": {
        "operationId": "listNewReleases", "summary": "releases, newest first, keyset-paginated",
        "parameters": [
            _LANGUAGE, _SOURCE, _KIND, _ARTIST, WATCH_PARAM,
            _query("since", {"type": "string", "format": "date"}, "releases dated on or after this day"),
            _query("q", {"type": "string", "maxLength": 200}, "case-insensitive text in title or artists"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "page size"),
            _query("cursor", {"type": "string", "maxLength": 200}, "`next_cursor` of the previous page"),
            {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"},
             "description": "an ETag from an earlier answer: 304 when unchanged"},
        ],
        "responses": {"200": _json("ReleasePage", "a page of releases", **_ETAG),
                      "304": {"description": "unchanged since the ETag you sent", "headers": _ETAG},
                      "400": _BAD, "404": error("`watch` names no watch", **LIMITED), "429": _LIMITED}}},
    "/api/releases/{id}": {"get": {
        "operationId": "getRelease", "summary": "one release, with the upstream item as received",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}],
        "responses": {"200": _json("ReleaseDetail", "the release"), "400": _BAD,
                      "404": error("no release has this id", **LIMITED), "429": _LIMITED}}},
    "/api/artists": {"get": {
        "operationId": "searchArtists", "summary": "artists by name, best trigram match first (no q: most releases)",
        "parameters": [
            _query("q", {"type": "string", "maxLength": 200}, "a name, as spelt anywhere: case, accents, spacing "
                   "and initials (\"A. R.\" / \"A.R.\") do not matter"),
            _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25}, "at most this many"),
        ],
        "responses": {"200": _json("ArtistList", "the artists; `id` is what `artist=` takes", **_ETAG),
                      "304": {"description": "unchanged since the ETag you sent", "headers": _ETAG},
                      "400": _BAD, "429": _LIMITED}}},
    "/api/artists/{id}": {"get": {
        "operationId": "getArtist", "summary": "one artist and its releases, newest first",
        "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}},
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 25},
                              "at most this many recent releases")],
        "responses": {"200": _json("ArtistDetail", "the artist", **_ETAG),
                      "304": {"description": "unchanged since the ETag you sent", "headers": _ETAG},
                      "400": _BAD, "404": error("no artist has this id", **LIMITED), "429": _LIMITED}}},
    "/api/rate-limit": {"get": {
        "operationId": "upstreamRateLimits", "summary": "the upstream token buckets, computed by the database now",
        "responses": {"200": _json("RateLimits", "one bucket per upstream service", **LIMITED), "429": _LIMITED}}},
    "/api/new-releases/fetch": {"post": {
        "operationId": "requestFetch", "summary": "start a fetch round now (coalesced with a pending one)",
        "security": [{"bearerAuth": []}],
        "description": _CONTROL_AUTH + " Without a token a poke is paid for from a small budget (3 at once, "
                                       "one more every 10 minutes): 429 `too_many_pokes` past it.",
        "requestBody": {"required": False, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/FetchRequest"}}}},
        "responses": {"202": _json("FetchAccepted", "the round is queued and will run", **LIMITED), "400": _BAD,
                      "401": error("missing, malformed, expired or wrongly signed token", **_WWW_AUTH, **LIMITED),
                      "403": _FORBIDDEN, "413": error("the body is larger than 64 KiB"), "415": _NOT_JSON,
                      "429": _LIMITED,
                      "503": error("`round_not_queued`: no round will run (a serve process with Redis down or no "
                                   "fetch process listening; a stopping process); `detail` says which",
                                   **{"Retry-After": {"$ref": "#/components/headers/Retry-After"}}, **LIMITED)}}},
    "/api/webhooks": {
        "post": {"operationId": "subscribeWebhook", "summary": "subscribe a target to new releases",
                 "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"$ref": "#/components/schemas/WebhookRequest"}}}},
                 "responses": {"201": _json("WebhookCreated", "subscribed; keep the secret, it is not shown again",
                                            **LIMITED), **_CONTROL_ERRORS}},
        "get": {"operationId": "listWebhooks", "summary": "every subscription, without secrets",
                "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                "responses": {"200": _json("WebhookList", "the subscriptions", **LIMITED), **_CONTROL_ERRORS}}},
    "/api/webhooks/{id}": {
        "parameters": [_WEBHOOK_ID],
        "get": {"operationId": "getWebhook", "summary": "one subscription, without its secret",
                "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                "responses": {"200": _json("Webhook", "the subscription", **LIMITED), **_CONTROL_ERRORS,
                              "404": error("no webhook has this id", **LIMITED)}},
        "delete": {"operationId": "deleteWebhook", "summary": "unsubscribe; pending deliveries are dropped",
                   "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                   "responses": {"204": {"description": "gone", "headers": LIMITED}, **_CONTROL_ERRORS,
                                 "404": error("no webhook has this id", **LIMITED)}}},
    "/api/webhooks/{id}/deliveries": {"get": {
        "operationId": "listWebhookDeliveries", "summary": "the target's deliveries, newest first",
        "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
        "parameters": [_WEBHOOK_ID,
                       _query("state", {"type": "string", "enum": ["pending", "delivered", "dead"]}, "only these"),
                       _query("before", {"type": "integer", "minimum": 1}, "deliveries with a smaller id (paging)"),
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "page size")],
        "responses": {"200": _json("DeliveryList", "the deliveries", **LIMITED), **_CONTROL_ERRORS,
                      "404": error("no webhook has this id", **LIMITED)}}},
    "/api/webhooks/{id}/redeliver": {"post": {
        "operationId": "redeliverWebhook", "summary": "send dead deliveries (or the named ones) again; resume the target",
        "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
        "parameters": [_WEBHOOK_ID],
        "requestBody": {"required": False, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RedeliverRequest"}}}},
        "responses": {"202": _json("RedeliverAccepted", "queued again", **LIMITED), **_CONTROL_ERRORS,
                      "404": error("no webhook has this id", **LIMITED)}}},
    "/api/notify/targets": {
        "post": {"operationId": "createNotifyTarget", "summary": "send new releases to an Apprise URL",
                 "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                 "requestBody": {"required": True, "content": {
                     "application/json": {"schema": {"$ref": "#/components/schemas/NotifyTargetRequest"}}}},
                 "responses": {"201": _json("NotifyTarget", "made; its URL is shown masked", **LIMITED),
                               **_CONTROL_ERRORS}},
        "get": {"operationId": "listNotifyTargets", "summary": "the caller's notification targets (URLs masked)",
                "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                "responses": {"200": _json("NotifyTargetList", "the targets", **LIMITED), **_CONTROL_ERRORS}}},
    "/api/notify/targets/{id}": {
        "parameters": [_WEBHOOK_ID],
        "get": {"operationId": "getNotifyTarget", "summary": "one notification target (URL masked)",
                "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                "responses": {"200": _json("NotifyTarget", "the target", **LIMITED), **_CONTROL_ERRORS,
                              "404": error("no notification target has this id", **LIMITED)}},
        "delete": {"operationId": "deleteNotifyTarget", "summary": "remove; its pending releases are never sent",
                   "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
                   "responses": {"204": {"description": "gone", "headers": LIMITED}, **_CONTROL_ERRORS,
                                 "404": error("no notification target has this id", **LIMITED)}}},
    "/api/notify/targets/{id}/deliveries": {"get": {
        "operationId": "listNotifyTargetDeliveries",
        "summary": "the target's outbox rows (one per release), newest first; never its URL",
        "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
        "parameters": [_WEBHOOK_ID,
                       _query("state", {"type": "string", "enum": ["pending", "delivered", "dead"]}, "only these"),
                       _query("before", {"type": "integer", "minimum": 1}, "rows with a smaller id (paging)"),
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}, "page size")],
        "responses": {"200": _json("NotifyMessageList", "the rows", **LIMITED), **_CONTROL_ERRORS,
                      "404": error("no notification target has this id", **LIMITED)}}},
    "/api/notify/targets/{id}/redeliver": {"post": {
        "operationId": "redeliverNotifyTarget",
        "summary": "send dead rows (or the named ones) again; resume a paused target",
        "security": [{"bearerAuth": []}], "description": _CONTROL_AUTH,
        "parameters": [_WEBHOOK_ID],
        "requestBody": {"required": False, "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/RedeliverRequest"}}}},
        "responses": {"202": _json("RedeliverAccepted", "queued again, the target resumed", **LIMITED),
                      **_CONTROL_ERRORS, "404": error("no notification target has this id", **LIMITED)}}},
    "/api/new-releases/stream": {"get": {"operationId": "streamNewReleases", **_STREAM}},
    "/api/new-releases/events": {"get": {"operationId": "streamNewReleasesAlias", **_STREAM,
                                         "summary": "the same stream under its other name"}},
    "/api/new-releases/ws": {"get": {
        "operationId": "websocketNewReleases", "x-documented-only": True,
        "summary": "WebSocket: the same events as JSON messages",
        "description": 'Upgrade, then send `{"subscribe": ["ml"], "source": ["jiosaavn"], "kind": ["album"], '
                       '"artist": [7], "last_event_id": 123}` (the one filter: `subscribe` or `language` are the '
                       'languages), or `{"subscribe": [], "watch": "<id>"}`; every event arrives as one text message.',
        "responses": {"101": {"description": "switching to the WebSocket protocol"},
                      "400": error("a filter or event id is invalid, or a malformed upgrade"),
                      "426": error("no upgrade asked for (websocket_upgrade_required)"),
                      "503": error("too many open streams")}}},
    **{f"/feeds/new-releases.{suffix}": {"get": {
        "operationId": f"feed{suffix.capitalize()}", "summary": f"the newest releases as {name}",
        "description": "The list API's filters; at most 100 entries (default 100). Entry ids are tag URIs from "
                       "the source and the upstream id, stable across restarts. Conditional GET with "
                       "If-None-Match / If-Modified-Since.",
        "parameters": [_LANGUAGE, _SOURCE, _KIND, _ARTIST, WATCH_PARAM,
                       _query("since", {"type": "string", "format": "date"}, "releases dated on or after this day"),
                       _query("q", {"type": "string", "maxLength": 200}, "case-insensitive text in title or artists"),
                       _query("limit", {"type": "integer", "minimum": 1, "maximum": 100, "default": 100},
                              "most entries")],
        "responses": {"200": {"description": name, "headers": _ETAG,
                              "content": {media: {"schema": schema}}},
                      "304": {"description": "unchanged since the ETag you sent", "headers": _ETAG},
                      "400": _BAD, "404": error("`watch` names no watch", **LIMITED), "429": _LIMITED}}}
      for suffix, name, media, schema in (
          ("atom", "Atom 1.0", "application/atom+xml", {"type": "string"}),
          ("rss", "RSS 2.0", "application/rss+xml", {"type": "string"}),
          ("json", "JSON Feed 1.1", "application/feed+json", {"type": "object", "required": ["version", "items"]}),
          ("ics", "iCalendar (one all-day event per release on its release date)", "text/calendar",
           {"type": "string"}))},
    **watches.PATHS,
    "/metrics": {"get": {"operationId": "metrics", "summary": "Prometheus metrics (never rate-limited)",
                         "responses": {"200": {"description": "the text exposition format", "content": {
                             "text/plain": {"schema": {"type": "string"}}}}}}},
    "/": {"get": {"operationId": "page", "summary": "the live page (HTML; its own CSP allows its script and style)",
                  "responses": {"200": {"description": "the page", "content": {
                      "text/html": {"schema": {"type": "string"}}}}}}},
    "/static/{name}": {"get": {
        "operationId": "pageAsset",
        "summary": "the page's script and style sheet: app.<content hash>.js as the page links it (immutable), "
                   "or app.js (revalidated)",
        "parameters": [{"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the asset", "content": {
            "text/javascript": {"schema": {"type": "string"}}, "text/css": {"schema": {"type": "string"}}}},
            "404": error("no such asset")}}},
    **PUSH_PATHS,
    "/openapi.json": {"get": {"operationId": "openapi", "summary": "this document",
                              "responses": {"200": {"description": "OpenAPI 3.1", "content": {
                                  "application/json": {"schema": {"type": "object"}}}}}}},
}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "vibed", "version": vibed.__version__,
                 "description": "New releases from JioSaavn and Spotify, stored and pushed live. Every error is "
                                '`{"error": code, "detail": sentence}`.'},
        "paths": PATHS,
        "components": {"schemas": {**SCHEMAS, **PUSH_SCHEMAS, **watches.SCHEMAS}, "headers": HEADERS,
                       "responses": RESPONSES,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                                          "bearerFormat": "JWT"}}},
    }


@blueprint.get("/openapi.json")
async def openapi_json() -> Response:
    response = jsonify(document())
    response.headers["Cache-Control"] = "max-age=300"
    response.headers[EDGE_CACHE] = "1"
    return response
