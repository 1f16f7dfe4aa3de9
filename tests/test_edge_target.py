"""Every spelling of a target is the one the app routes, on real sockets: absolute-form and
percent-encoded paths count against the per-IP limit and hit the edge cache like the plain path,
an absolute-form authority is the Host the app sees, and a target in no server form is 400."""

from __future__ import annotations

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, read_responses, request
from tests.stream_support import open_gateway

SPELLINGS = ("/api/held", "http://test/api/held", "/%61pi/held", "HTTP://test/api%2Fheld")


async def test_absolute_form_and_percent_encoded_paths_count_against_the_per_ip_limit(db):
    async with open_gateway(db, api_rate_limit=3) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"".join(request("GET", t) for t in
                                       ("/api/ping", "http://test/api/ping", "/%61pi/ping", "/%61%70%69/ping")))
        answers = await read_responses(stream, ["GET"] * 4)
    assert [a.status for a in answers] == [200, 200, 200, 429]


async def test_every_spelling_of_a_target_is_one_edge_cache_entry(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(b"".join(request("GET", t) for t in SPELLINGS))
        answers = await read_responses(stream, ["GET"] * len(SPELLINGS))
    assert [a.json() for a in answers] == [{"n": 1}] * len(SPELLINGS)
    assert gw.app.extensions["renders"] == 1  # the app ran once: no spelling missed the cache


async def test_the_app_sees_the_routed_path_and_the_absolute_form_authority_as_host(db):
    async with open_gateway(db) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "http://daemon.example:8080/%61pi/target?q=%61")
                              + request("GET", "/api/targ%65t?x=1"))
        absolute, encoded = await read_responses(stream, ["GET", "GET"])
        bad = await connect()
        await bad.send_all(request("GET", "api/target") + request("GET", "/api/ping"))
        data, closed = await read_all(bad)
    assert absolute.json() == {"path": "/api/target", "query": "q=%61", "host": "daemon.example:8080"}
    assert encoded.json() == {"path": "/api/target", "query": "x=1", "host": "test"}
    [refused] = parse(data, ["GET", "GET"])
    assert_json_error(refused, 400, "bad_request")
    assert closed
