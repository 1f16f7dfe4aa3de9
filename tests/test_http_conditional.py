"""Preconditions as RFC 9110 §13 says, on real sockets through the edge: every HTTP-date form,
``If-None-Match: *``, ``If-Match`` and ``If-Unmodified-Since`` (412), in the RFC's order."""

from __future__ import annotations

import json

from tests.http_wire import raw_clients, read_responses, request
from tests.stream_support import open_gateway

# /api/dated answers Last-Modified: Sun, 29 Nov 2026 09:00:00 GMT and ETag: "dated"
LATER = ("Sun, 29 Nov 2026 10:00:00 GMT", "Sunday, 29-Nov-26 10:00:00 GMT", "Sun Nov 29 10:00:00 2026")
EARLIER = ("Sat, 28 Nov 2026 10:00:00 GMT", "Saturday, 28-Nov-26 10:00:00 GMT", "Sat Nov 28 10:00:00 2026")


async def ask(db, *requests: bytes) -> list:
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"".join(requests))
        methods = [r.split(b" ", 1)[0].decode() for r in requests]
        return await read_responses(stream, methods)


async def test_if_modified_since_is_read_in_all_three_http_date_forms(db):
    answers = await ask(db, *(request("GET", "/api/dated", f"If-Modified-Since: {d}") for d in LATER + EARLIER),
                        request("GET", "/api/dated", "If-Modified-Since: yesterday"))
    assert [a.status for a in answers] == [304, 304, 304, 200, 200, 200, 200]


async def test_if_none_match_star_matches_any_current_representation_with_or_without_an_etag(db):
    answers = await ask(db, request("GET", "/api/dated", "If-None-Match: *"),
                        request("GET", "/api/ping", "If-None-Match: *"),  # no ETag, but a representation
                        request("HEAD", "/api/ping", "If-None-Match: *"),
                        request("GET", "/api/ping", 'If-None-Match: "other"'))
    assert [a.status for a in answers] == [304, 304, 304, 200]


async def test_if_match_and_if_unmodified_since_fail_with_412_in_the_rfc_order(db):
    answers = await ask(
        db,
        request("GET", "/api/dated", 'If-Match: "dated"'),
        request("GET", "/api/dated", 'If-Match: "other", "dated"'),
        request("GET", "/api/dated", "If-Match: *"),
        request("GET", "/api/dated", 'If-Match: "other"'),
        request("GET", "/api/dated", 'If-Match: W/"dated"'),  # If-Match compares strongly
        *(request("GET", "/api/dated", f"If-Unmodified-Since: {d}") for d in LATER),
        *(request("GET", "/api/dated", f"If-Unmodified-Since: {d}") for d in EARLIER),
        request("GET", "/api/dated", 'If-Match: "dated"', f"If-Unmodified-Since: {EARLIER[0]}"),  # If-Match decides
        request("GET", "/api/dated", 'If-Match: "other"', 'If-None-Match: "dated"'),  # 412 before 304
        request("GET", "/api/dated", 'If-Match: "dated"', 'If-None-Match: "dated"'),
    )
    assert [a.status for a in answers] == [200, 200, 200, 412, 412, 200, 200, 200, 412, 412, 412, 200, 412, 304]
    failed = answers[3]
    assert json.loads(failed.body)["error"] == "precondition_failed" and failed.headers["etag"] == '"dated"'


async def test_an_unsafe_request_with_if_match_tags_is_refused_before_it_runs(db):
    answers = await ask(db, request("POST", "/api/echo", 'If-Match: "x"', "Content-Length: 2", body=b"hi"),
                        request("POST", "/api/echo", "If-Match: *", "Content-Length: 2", body=b"hi"),
                        request("POST", "/api/echo", f"If-Unmodified-Since: {EARLIER[0]}", "Content-Length: 2",
                                body=b"hi"))  # no modification date here: ignored, as the RFC says
    assert [a.status for a in answers] == [412, 200, 200]
    assert json.loads(answers[0].body)["error"] == "precondition_failed"
    assert json.loads(answers[1].body) == {"echo": "hi"}
