"""The OpenAPI document's ``components``: the JSON shapes vibed answers with, and shared parts.

``Release`` mirrors ``vibed.store.releases.row_json`` field for field (``additionalProperties:
false``), so a field added there without being added here fails the API's conformance tests.
"""

from __future__ import annotations

from typing import Any

from vibed.vocab import messages
from vibed.vocab.languages import LANGUAGES

SOURCES = list(messages.SOURCES)
KINDS = list(messages.KINDS)


def nullable(schema: dict[str, Any]) -> dict[str, Any]:
    return {"anyOf": [schema, {"type": "null"}]}


_RELEASE_FIELDS: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "source": {"type": "string", "enum": SOURCES},
    "external_id": {"type": "string"},
    "kind": {"type": "string", "enum": KINDS},
    "title": {"type": "string"},
    "artists": {"type": "array", "items": {"type": "string"}},
    "artist_ids": {"type": "array", "items": {"type": "integer", "minimum": 1},
                   "description": "the artists' ids in /api/artists, in credit order (beside the names)"},
    "album": nullable({"type": "string"}),
    "language": nullable({"type": "string"}),
    "release_date": nullable({"type": "string", "format": "date"}),
    "year": nullable({"type": "integer"}),
    "image": nullable({"type": "string"}),
    "url": nullable({"type": "string"}),
    "explicit": nullable({"type": "boolean"}),
    "first_seen": nullable({"type": "string", "format": "date-time"}),
}


_ARTIST_FIELDS: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1, "description": "what `artist=` takes on every path"},
    "name": {"type": "string"},
    "sources": {"type": "object", "additionalProperties": {"type": "string"},
                "description": "the artist's id in each source that knows it"},
    "languages": {"type": "array", "items": {"type": "string"}},
    "releases": {"type": "integer", "minimum": 0, "description": "stored releases crediting the artist"},
}


_WEBHOOK_FIELDS: dict[str, Any] = {
    "id": {"type": "integer", "minimum": 1},
    "url": {"type": "string"},
    "language": {"type": "array", "items": {"type": "string"}},
    "source": nullable({"type": "string", "description": "the sources, comma-separated; null = every source"}),
    "kind": nullable({"type": "string", "description": "the kinds, comma-separated; null = albums and songs"}),
    "artist": {"type": "array", "items": {"type": "integer"}, "description": "artist ids; empty = every artist"},
    "watch": nullable({"type": "string", "description": "the watch it follows instead (its filter as it is at "
                                                        "each event); null = the filter above"}),
    "format": {"type": "string", "enum": ["generic", "discord", "slack"]},
    "created_at": {"type": "string", "format": "date-time"},
    "paused": {"type": "boolean"},
    "paused_reason": nullable({"type": "string"}),
    "consecutive_failures": {"type": "integer", "minimum": 0},
    "pending": {"type": "integer", "minimum": 0},
    "dead": {"type": "integer", "minimum": 0},
}


def _object(properties: dict[str, Any], *, closed: bool = True, required: list[str] | None = None) -> dict[str, Any]:
    return {"type": "object", "properties": properties,
            "required": list(properties) if required is None else required, "additionalProperties": not closed}


SCHEMAS: dict[str, Any] = {
    "Error": _object({"error": {"type": "string", "description": "machine-readable code"},
                      "detail": {"type": "string", "description": "a human sentence naming the fix"}}),
    "Release": _object(_RELEASE_FIELDS),
    "ReleaseDetail": _object({**_RELEASE_FIELDS,
                              "raw": {"type": "object", "description": "the upstream item as received"}}),
    "ReleasePage": _object({
        "data": {"type": "array", "items": {"$ref": "#/components/schemas/Release"}},
        "next_cursor": {"description": "pass as `cursor` for the next page; null on the last page",
                        **nullable({"type": "string"})},
    }),
    "Artist": _object(_ARTIST_FIELDS),
    "ArtistList": _object({"data": {"type": "array", "items": {"$ref": "#/components/schemas/Artist"}}}),
    "ArtistDetail": _object({**_ARTIST_FIELDS, "recent_releases": {
        "type": "array", "items": {"$ref": "#/components/schemas/Release"}}}),
    "Bucket": _object({
        "tokens": {"type": "number", "minimum": 0},
        "max_tokens": {"type": "number", "minimum": 0},
        "refill_rate": {"type": "number", "minimum": 0, "description": "tokens per refill interval"},
        "refill_interval_s": {"type": "number", "exclusiveMinimum": 0},
        "next_token_s": {"description": "seconds until one whole token is available; 0 = now, "
                                        "null = never (refill rate 0)", **nullable({"type": "number",
                                                                                  "minimum": 0})},
    }),
    "RateLimits": _object({"services": {"type": "object",
                                        "additionalProperties": {"$ref": "#/components/schemas/Bucket"}}}),
    "Health": _object({
        "status": {"type": "string", "enum": ["ok", "degraded", "unavailable"]},
        "version": {"type": "string"},
        "uptime_s": {"type": "number"},
        "database": _object({"reachable": {"type": "boolean"}, "embedded": {"type": "boolean"}}),
        "actors": {"type": "object", "additionalProperties": _object(
            {"state": {"type": "string"}, "restarts": {"type": "integer"},
             "last_error": nullable({"type": "string"})}, closed=False)},
    }, closed=False, required=["status", "version", "database", "actors"]),
    "FetchRequest": _object({
        "languages": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": list(LANGUAGES)}},
        "sources": {"type": "array", "minItems": 1, "items": {"type": "string", "enum": SOURCES}},
    }, required=[]),
    "WebhookRequest": _object({
        "url": {"type": "string", "maxLength": 2000, "description": "https target (http with VIBED_WEBHOOK_ALLOW_HTTP)"},
        "language": {"anyOf": [{"type": "array", "items": {"type": "string", "enum": list(LANGUAGES)}},
                               {"type": "string"}, {"type": "null"}],
                     "description": "as on the list API: codes; absent = every language"},
        "source": {"anyOf": [{"type": "array", "items": {"type": "string", "enum": SOURCES}},
                             {"type": "string"}, {"type": "null"}], "description": "as on the list API"},
        "kind": {"anyOf": [{"type": "array", "items": {"type": "string", "enum": KINDS}},
                           {"type": "string"}, {"type": "null"}], "description": "as on the list API"},
        "artist": {"anyOf": [{"type": "array", "maxItems": 50, "items": {"type": "integer", "minimum": 1}},
                             {"type": "integer", "minimum": 1}, {"type": "string"}, {"type": "null"}],
                   "description": "artist ids from /api/artists (at most 50); absent = every artist"},
        "watch": {"anyOf": [{"type": "string"}, {"type": "null"}],
                  "description": "a watch's id: follow its filter (as it is at each event) instead of the four "
                                 "above, which may not be given beside it"},
        "format": {"type": "string", "enum": ["generic", "discord", "slack"], "default": "generic"},
    }, required=["url"]),
    "Webhook": _object(_WEBHOOK_FIELDS),
    "NotifyTargetRequest": _object({
        "url": {"type": "string", "maxLength": 2048,
                "description": "an Apprise URL: ntfy://, ntfys://, tgram://, discord://, mailto://, json://, form://, …"},
        "filter": nullable({"type": "object", "description": "the list API's filters: language, source, kind, "
                                                             "artist (absent = every release)"}),
        "watch": nullable({"type": "string", "description": "follow this watch's filter instead (its id)"}),
        "digest": {"type": "string", "enum": ["off", "hourly", "daily"], "default": "off"},
        "quiet_hours": nullable({"type": "string", "description": "HH:MM-HH:MM in tz, e.g. 22:00-07:00"}),
        "tz": {"type": "string", "default": "UTC", "description": "an IANA time zone, e.g. Asia/Kolkata"},
    }, required=["url"]),
    "NotifyTarget": _object({
        "id": {"type": "integer", "minimum": 1},
        "url": {"type": "string", "description": "masked: the credentials are never shown"},
        "service": {"type": "string"},
        "filter": nullable({"type": "object", "additionalProperties": {"type": "string"}}),
        "watch": nullable({"type": "string"}),
        "digest": {"type": "string", "enum": ["off", "hourly", "daily"]},
        "quiet_hours": nullable({"type": "string"}),
        "tz": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "paused": {"type": "boolean"},
        "paused_reason": nullable({"type": "string"}),
        "consecutive_failures": {"type": "integer", "minimum": 0},
        "pending": {"type": "integer", "minimum": 0},
        "dead": {"type": "integer", "minimum": 0},
    }),
    "NotifyTargetList": _object({"data": {"type": "array",
                                          "items": {"$ref": "#/components/schemas/NotifyTarget"}}}),
    "WebhookCreated": _object({**_WEBHOOK_FIELDS, "secret": {
        "type": "string", "pattern": "^whsec_", "description": "the signing secret; shown only in this answer"}}),
    "WebhookList": _object({"data": {"type": "array", "items": {"$ref": "#/components/schemas/Webhook"}}}),
    "Delivery": _object({
        "id": {"type": "integer"}, "webhook_id": {"type": "string", "description": "the webhook-id header sent"},
        "event_id": {"type": "integer"}, "state": {"type": "string", "enum": ["pending", "delivered", "dead"]},
        "attempts": {"type": "integer", "minimum": 0},
        "next_attempt_at": nullable({"type": "string", "format": "date-time"}),
        "last_attempt_at": nullable({"type": "string", "format": "date-time"}),
        "last_status": nullable({"type": "integer"}), "last_error": nullable({"type": "string"}),
        "delivered_at": nullable({"type": "string", "format": "date-time"}),
        "created_at": {"type": "string", "format": "date-time"},
    }),
    "DeliveryList": _object({"data": {"type": "array", "items": {"$ref": "#/components/schemas/Delivery"}}}),
    "NotifyMessage": _object({
        "id": {"type": "integer"}, "event_id": {"type": "integer"},
        "message_id": nullable({"type": "integer", "description": "the message that carried it (a folded burst "
                                                                   "or a digest carries several rows)"}),
        "state": {"type": "string", "enum": ["pending", "delivered", "dead"]},
        "attempts": {"type": "integer", "minimum": 0},
        "next_attempt_at": nullable({"type": "string", "format": "date-time"}),
        "last_attempt_at": nullable({"type": "string", "format": "date-time"}),
        "last_error": nullable({"type": "string"}),
        "delivered_at": nullable({"type": "string", "format": "date-time"}),
        "created_at": {"type": "string", "format": "date-time"},
    }),
    "NotifyMessageList": _object({"data": {"type": "array",
                                           "items": {"$ref": "#/components/schemas/NotifyMessage"}}}),
    "RedeliverRequest": _object({"ids": {"type": "array", "minItems": 1, "maxItems": 1000,
                                         "items": {"type": "integer", "minimum": 1}}}, required=[]),
    "RedeliverAccepted": _object({"requeued": {"type": "integer", "minimum": 0}, "resumed": {"type": "boolean"}}),
    "FetchAccepted": _object({"round_id": {"type": "string"}, "coalesced": {"type": "boolean"},
                              "status": {"type": "string", "const": "queued"}}),
}

_INT = {"schema": {"type": "integer", "minimum": 0}}
HEADERS: dict[str, Any] = {
    "RateLimit-Limit": {"description": "requests allowed per minute for your address (never on an answer a "
                                       "shared cache may store: those count, but say nothing per client)", **_INT},
    "RateLimit-Remaining": {"description": "requests left in the current window", **_INT},
    "RateLimit-Reset": {"description": "seconds until the full quota is back", **_INT},
    "Retry-After": {"description": "seconds to wait before retrying", **_INT},
    "ETag": {"description": "a hash of the body; send it back in If-None-Match", "schema": {"type": "string"}},
    "WWW-Authenticate": {"description": 'Bearer realm="vibed"', "schema": {"type": "string"}},
}
LIMITED = {name: {"$ref": f"#/components/headers/{name}"}
           for name in ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")}


def error(description: str, **headers: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"description": description, "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    if headers:
        out["headers"] = headers
    return out


RESPONSES: dict[str, Any] = {
    "BadRequest": error("a parameter or the body is invalid; `detail` names it", **LIMITED),
    "TooManyRequests": error("over the per-address limit (VIBED_API_RATE_LIMIT per minute)",
                             **{"Retry-After": {"$ref": "#/components/headers/Retry-After"}, **LIMITED}),
}
