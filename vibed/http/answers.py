"""Answers as records: a read endpoint returns an ``Answer`` (vibed/edge/respond.py), once.

The edge writes that record itself (``vibed/http/reads.py``); the Quart app turns it into a
``Response`` here (``as_response``), header for header in the same order, so both paths put the
same bytes on the wire.  A JSON body is encoded once (``json_bytes``, orjson); its ETag is a hash
of those bytes, so equal results give equal tags on every instance.
"""

from __future__ import annotations

import hashlib
from typing import Any

from quart import Response, jsonify

from vibed.edge.respond import Answer, Header
from vibed.vocab.edge_keys import EDGE_CACHE
from vibed.vocab.json_bytes import json_bytes

CACHE_CONTROL = b"max-age=5"  # short: new releases arrive live, and SSE is the fresh path
JSON = b"application/json"
_MARK = (EDGE_CACHE.encode(), b"1")

__all__ = ["CACHE_CONTROL", "as_response", "cached_answer", "created", "etag_of", "json_answer", "json_bytes", "no_store"]


def etag_of(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def cached_answer(body: bytes, content_type: bytes = JSON) -> Answer:
    """200 with ``body``, its ETag and ``Cache-Control``, marked for the edge cache (the edge also
    answers ``If-None-Match`` with a 304 from the tag)."""
    return Answer(200, ((b"content-type", content_type), (b"content-length", b"%d" % len(body)),
                        (b"etag", etag_of(body).encode()), (b"cache-control", CACHE_CONTROL), _MARK), body)


def json_answer(value: Any) -> Answer:
    return cached_answer(json_bytes(value))


def as_response(answer: Answer) -> Response:
    """``answer`` as the Quart response that leaves with the same headers in the same order
    (Quart puts Content-Type and Content-Length first)."""
    headers: list[Header] = list(answer.headers)
    response = Response(answer.body, status=answer.status,
                        content_type=(answer.header(b"content-type") or b"text/plain").decode("latin-1"))
    for name, value in headers:
        if name not in (b"content-type", b"content-length"):
            response.headers.add(name.decode("latin-1"), value.decode("latin-1"))
    return response


def no_store(response: Response) -> Response:
    """An answer no cache may keep: it carries a secret (a token, a signing secret) or a private filter."""
    response.headers["Cache-Control"] = "no-store"
    return response


def created(value: Any, location: str) -> Response:
    """201 with ``value`` as JSON, ``Location`` naming what was made, ``no-store``."""
    response = jsonify(value)
    response.status_code = 201
    response.headers["Location"] = location
    return no_store(response)
