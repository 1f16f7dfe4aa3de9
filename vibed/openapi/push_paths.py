"""The Web Push routes and their schemas, for the document (vibed/http/push_api.py answers them)."""

from __future__ import annotations

from typing import Any

from vibed.openapi.schemas import KINDS, LIMITED, SOURCES, error
from vibed.vocab.languages import LANGUAGES

_B64URL = {"type": "string", "pattern": "^[A-Za-z0-9_-]+={0,2}$"}


def _filter_part(enum: list[str]) -> dict[str, Any]:
    return {"anyOf": [{"type": "array", "items": {"type": "string", "enum": enum}}, {"type": "string"},
                      {"type": "null"}], "description": "as on the list API; absent = no restriction"}


PUSH_SCHEMAS: dict[str, Any] = {
    "VapidKey": {"type": "object", "required": ["public_key"], "additionalProperties": False, "properties": {
        "public_key": {**_B64URL, "description": "the P-256 public key, uncompressed, base64url: the page's "
                                                 "applicationServerKey"}}},
    "PushSubscriptionRequest": {
        "type": "object", "required": ["endpoint", "keys"], "additionalProperties": False,
        "description": "PushSubscription.toJSON(), plus the one release filter",
        "properties": {
            "endpoint": {"type": "string", "maxLength": 2000, "description": "https, a public address"},
            "expirationTime": {"description": "ignored"},
            "keys": {"type": "object", "required": ["p256dh", "auth"], "properties": {
                "p256dh": {**_B64URL, "description": "the browser's P-256 public key (65 bytes)"},
                "auth": {**_B64URL, "description": "its 16-byte authentication secret"}}},
            "language": _filter_part(list(LANGUAGES)), "source": _filter_part(SOURCES), "kind": _filter_part(KINDS),
            "artist": {"anyOf": [{"type": "array", "maxItems": 50, "items": {"type": "integer", "minimum": 1}},
                                 {"type": "integer", "minimum": 1}, {"type": "string"}, {"type": "null"}],
                       "description": "artist ids from /api/artists (at most 50)"},
            "watch": {"description": "a watch id (where watches are available)"}}},
    "PushSubscription": {
        "type": "object", "required": ["id", "language", "source", "kind", "artist", "watch"],
        "additionalProperties": False, "properties": {
            "id": {"type": "integer"},
            "language": {"type": "array", "items": {"type": "string"}},
            "source": {"type": "array", "items": {"type": "string"}},
            "kind": {"type": "array", "items": {"type": "string"}},
            "artist": {"type": "array", "items": {"type": "integer"}},
            "watch": {"anyOf": [{"type": "string"}, {"type": "null"}]}}},
    "PushUnsubscribeRequest": {"type": "object", "required": ["endpoint"], "properties": {
        "endpoint": {"type": "string"}}},
}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "headers": LIMITED,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


_BAD = {"$ref": "#/components/responses/BadRequest"}
_LIMITED = {"$ref": "#/components/responses/TooManyRequests"}
_BODY = {"413": error("the body is larger than 64 KiB"), "429": _LIMITED}

PUSH_PATHS: dict[str, Any] = {
    "/api/push/vapid-public-key": {"get": {
        "operationId": "pushVapidKey", "summary": "the VAPID public key to subscribe with (RFC 8292)",
        "responses": {"200": _json("VapidKey", "the deployment's key, made on its first start"), "429": _LIMITED,
                      "503": error("no key yet")}}},
    "/api/push/subscriptions": {
        "post": {"operationId": "subscribePush", "summary": "this browser gets new releases as Web Push",
                 "description": "Subscribing the same endpoint again replaces its keys and filter (200).",
                 "requestBody": {"required": True, "content": {"application/json": {
                     "schema": {"$ref": "#/components/schemas/PushSubscriptionRequest"}}}},
                 "responses": {"201": _json("PushSubscription", "subscribed"),
                               "200": _json("PushSubscription", "the endpoint's subscription, replaced"),
                               "400": _BAD, **_BODY,
                               "503": error("`too_many_subscriptions`: the deployment holds "
                                            "VIBED_MAX_PUSH_SUBSCRIPTIONS subscriptions",
                                            **{"Retry-After": {"$ref": "#/components/headers/Retry-After"}})}},
        "delete": {"operationId": "unsubscribePush", "summary": "this browser gets no more pushes",
                   "requestBody": {"required": True, "content": {"application/json": {
                       "schema": {"$ref": "#/components/schemas/PushUnsubscribeRequest"}}}},
                   "responses": {"204": {"description": "gone", "headers": LIMITED}, "400": _BAD,
                                 "404": error("no subscription has this endpoint", **LIMITED), **_BODY}}},
    "/sw.js": {"get": {"operationId": "serviceWorker",
                       "summary": "the page's service worker: each push shows a notification",
                       "responses": {"200": {"description": "the script", "content": {
                           "text/javascript": {"schema": {"type": "string"}}}}}}},
}
