"""The OpenAPI of watches: ``/api/watches`` (made with no account, managed with the watch's token), the
private feeds ``/feeds/watch/{id}.*``, the ``watch`` parameter every filtered path takes, and the shapes."""

from __future__ import annotations

from typing import Any

from vibed.openapi.schemas import KINDS, LIMITED, SOURCES, error
from vibed.vocab.languages import LANGUAGES
from vibed.vocab.release_filter import MAX_ARTISTS

ID_PATTERN = "^[A-Za-z0-9_-]{22}$"
WATCH_PARAM: dict[str, Any] = {
    "name": "watch", "in": "query", "required": False, "schema": {"type": "string", "pattern": ID_PATTERN},
    "description": "a watch's id (POST /api/watches): its saved filter instead of language/source/kind/artist, "
                   "which may not be given beside it; read when the request comes in (an open stream follows the "
                   "watch's later edits, and ends when it is deleted)"}
_ID = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": ID_PATTERN}}
_TOKEN = ("Needs `Authorization: Bearer <token>`, the token POST /api/watches returned (only its hash is kept). "
          "The id alone is a capability for reading the watch's releases (`?watch=<id>`, `/feeds/watch/<id>.*`), "
          "like a private calendar link: share it as you would one.")
_UNAUTHORIZED = error("no Bearer token, or not this watch's token",
                      **{"WWW-Authenticate": {"$ref": "#/components/headers/WWW-Authenticate"}}, **LIMITED)
_MISSING = error("no watch has this id (deleted, or never made)", **LIMITED)
_BAD = {"$ref": "#/components/responses/BadRequest"}
_LIMITED = {"$ref": "#/components/responses/TooManyRequests"}
_BODY = {"required": False, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/WatchRequest"}}}}


def _json(ref: str, description: str) -> dict[str, Any]:
    return {"description": description, "headers": LIMITED,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}}


def _list(items: dict[str, Any], description: str) -> dict[str, Any]:
    return {"type": "array", "items": items, "description": description}


_WATCH_FIELDS: dict[str, Any] = {
    "id": {"type": "string", "pattern": ID_PATTERN, "description": "128 random bits: unguessable"},
    "name": {"type": "string"},
    "artists": {"type": "array", "items": {"type": "object", "required": ["id", "name"], "additionalProperties": False,
                                           "properties": {"id": {"type": "integer"}, "name": {"type": "string"}}},
                "description": "the artists it follows (names given that now match an artist included)"},
    "pending": {"type": "array", "items": {"type": "string"},
                "description": "names that match no artist yet: matched when the artist first appears"},
    "languages": {"type": "array", "items": {"type": "string"}, "description": "empty = any language"},
    "sources": {"type": "array", "items": {"type": "string"}, "description": "empty = any source"},
    "kinds": {"type": "array", "items": {"type": "string"}, "description": "empty = albums and songs"},
    "created_at": {"type": "string", "format": "date-time"},
    "updated_at": {"type": "string", "format": "date-time"},
    "links": {"type": "object", "additionalProperties": {"type": "string"},
              "description": "where its releases are read: listing, stream and feeds (capability URLs)"},
}

SCHEMAS: dict[str, Any] = {
    "WatchRequest": {"type": "object", "additionalProperties": False, "properties": {
        "name": {"type": "string", "maxLength": 100},
        "artists": _list({"type": "integer", "minimum": 1}, "artist ids from /api/artists"),
        "artist_names": _list({"type": "string", "maxLength": 200},
                              "names; one that matches no artist yet stays pending"),
        "languages": _list({"type": "string", "enum": list(LANGUAGES)}, "empty = any"),
        "sources": _list({"type": "string", "enum": SOURCES}, "empty = any"),
        "kinds": _list({"type": "string", "enum": KINDS}, "empty = any")},
        "description": f"artists and artist_names together: at most {MAX_ARTISTS}. On PATCH a field given "
                       "replaces that part and a field left out keeps it; [] clears a list. null is no value for any "
                       "field: a 400 invalid_body."},
    "Watch": {"type": "object", "properties": _WATCH_FIELDS, "required": list(_WATCH_FIELDS),
              "additionalProperties": False},
    "WatchCreated": {"type": "object", "required": [*_WATCH_FIELDS, "token"], "additionalProperties": False,
                     "properties": {**_WATCH_FIELDS, "token": {
                         "type": "string", "description": "shown only in this answer; keep it to manage the watch"}}},
}

PATHS: dict[str, Any] = {
    "/api/watches": {"post": {
        "operationId": "createWatch", "summary": "save a filter (artists you follow) with no account",
        "description": "Returns the watch's id and token. " + _TOKEN, "requestBody": _BODY,
        "responses": {"201": _json("WatchCreated", "made; keep the token, it is not shown again"), "400": _BAD,
                      "413": error("the body is larger than 64 KiB"),
                      "415": error("the body is not declared JSON (Content-Type: application/json)"),
                      "429": _LIMITED,
                      "503": error("`too_many_watches`: the deployment holds VIBED_MAX_WATCHES watches",
                                   **{"Retry-After": {"$ref": "#/components/headers/Retry-After"}})}}},
    "/api/watches/{id}": {
        "parameters": [_ID],
        "get": {"operationId": "getWatch", "summary": "the watch", "description": _TOKEN,
                "responses": {"200": _json("Watch", "the watch"), "401": _UNAUTHORIZED, "404": _MISSING,
                              "429": _LIMITED}},
        "patch": {"operationId": "changeWatch", "summary": "change the parts given", "description": _TOKEN,
                  "requestBody": _BODY,
                  "responses": {"200": _json("Watch", "the watch as changed"), "400": _BAD, "401": _UNAUTHORIZED,
                                "404": _MISSING, "413": error("the body is larger than 64 KiB"),
                                "415": error("the body is not declared JSON (Content-Type: application/json)"),
                                "429": _LIMITED}},
        "delete": {"operationId": "deleteWatch", "summary": "forget the watch (and webhooks that follow it)",
                   "description": _TOKEN,
                   "responses": {"204": {"description": "gone", "headers": LIMITED}, "401": _UNAUTHORIZED,
                                 "404": _MISSING, "429": _LIMITED}}},
    "/feeds/watch/{id}.{format}": {"get": {
        "operationId": "watchFeed", "summary": "a watch's releases as Atom, RSS, JSON Feed or iCalendar",
        "description": "A capability URL (no token): `Cache-Control: private, no-cache`; an edit of the watch shows "
                       "at the next refresh. `.ics` has one all-day event per release on its release date.",
        "parameters": [_ID, {"name": "format", "in": "path", "required": True,
                             "schema": {"type": "string", "enum": ["atom", "rss", "json", "ics"]}},
                       {"name": "limit", "in": "query", "required": False,
                        "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 100}}],
        "responses": {"200": {"description": "the feed", "headers": {"ETag": {"$ref": "#/components/headers/ETag"}},
                              "content": {media: {"schema": {"type": "string"}} for media in (
                                  "application/atom+xml", "application/rss+xml", "application/feed+json",
                                  "text/calendar")}},
                      "304": {"description": "unchanged since the ETag you sent"},
                      "400": _BAD, "404": _MISSING, "429": _LIMITED}}},
}
