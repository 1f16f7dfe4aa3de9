"""Hostile input: every case is a 4xx (JSON where the application answers), never a 5xx, never a write."""

from __future__ import annotations

import base64
import json

import trio

from tests.api_support import api_config, release, store, table_digest
from tests.daemon_inproc import running_daemon
from vibed.http.auth import issue_token
from vibed.vocab.json_depth import depth_of

SECRET = "hostile-input-secret-0123456789abcdef"
LISTING = "/api/new-releases"


async def raw_post(port: int, path: str, size: int, headers: dict[str, str]) -> tuple[int, dict]:
    """POST ``size`` bytes over a plain socket, reading the answer while still sending: the server
    may answer 413 and close before the body is through (an HTTP client library would then abandon
    its body generator mid-way)."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    answer = bytearray()

    async def send() -> None:
        try:
            await stream.send_all(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {size}\r\n"
                                  f"Content-Type: application/json\r\n{head}\r\n".encode())
            chunk = b"x" * 65536
            for _ in range(size // len(chunk)):
                await stream.send_all(chunk)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the server stopped reading: that is the point

    async with stream, trio.open_nursery() as nursery:
        nursery.start_soon(send)
        with trio.fail_after(10):
            try:
                while data := await stream.receive_some(65536):
                    answer += data
                    if b"\r\n\r\n" in answer and answer.rstrip().endswith(b"}"):
                        break
            except trio.BrokenResourceError:
                pass
        nursery.cancel_scope.cancel()
    status = int(answer.split(b" ", 2)[1])
    body = answer.split(b"\r\n\r\n", 1)[1]
    if b"\r\n" in body and not body.lstrip().startswith(b"{"):  # chunked
        body = body.split(b"\r\n", 1)[1].rsplit(b"\r\n", 2)[0]
    return status, json.loads(body[body.index(b"{"): body.rindex(b"}") + 1])


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


async def _raw(port: int, request: bytes) -> tuple[int, dict[str, str], bytes]:
    """One request written byte for byte (no client library to tidy it up); the parsed answer."""
    stream = await trio.open_tcp_stream("127.0.0.1", port)
    async with stream:
        await stream.send_all(request)
        data = b""
        with trio.fail_after(5):
            while True:
                head, sep, body = data.partition(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
                if sep and len(body) >= int(headers.get("content-length", 0)):
                    break
                chunk = await stream.receive_some(65536)
                if not chunk:
                    break
                data += chunk
    return int(lines[0].split()[1]), headers, body


async def test_bad_listing_parameters_are_400_json_and_change_nothing(db, db_url):
    await store(db, *(release(n) for n in range(30)))
    before = await table_digest(db)
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        good = (await api.client.get(LISTING, params={"limit": 1})).json()["next_cursor"]
        body, tag = good.split(".")
        cases = {
            "limit huge": {"limit": "10000000000000000000000"}, "limit negative": {"limit": "-1"},
            "limit zero": {"limit": "0"}, "limit 101": {"limit": "101"}, "limit word": {"limit": "ten"},
            "limit float": {"limit": "2.5"}, "limit twice": [("limit", "1"), ("limit", "2")],
            "cursor forged": {"cursor": _b64(b"2026-03-01|0|1") + "." + tag},
            "cursor truncated": {"cursor": good[:-3]}, "cursor body cut": {"cursor": body[:-4] + "." + tag},
            "cursor json": {"cursor": _b64(json.dumps({"id": 1}).encode()) + "." + tag},
            "cursor garbage": {"cursor": "%%%not base64!!"}, "cursor huge": {"cursor": "A" * 5000},
            "language unknown": {"language": "xx"}, "language mixed": {"language": "ml,klingon"},
            "kind unknown": {"kind": "podcast"}, "source unknown": {"source": "napster"},
            "since word": {"since": "yesterday"}, "since bad day": {"since": "2026-02-30"},
            "since injection": {"since": "2026-01-01' OR '1'='1"}, "since empty": {"since": ""},
            "q NUL": {"q": "a\x00b"}, "q long": {"q": "x" * 5000},
        }
        answers = {name: await api.client.get(LISTING, params=params) for name, params in cases.items()}
        ids = {name: await api.client.get(f"/api/releases/{value}")
               for name, value in {"id word": "abc", "id negative": "-1", "id float": "1.5",
                                   "id huge": "9" * 40, "id unicode digits": "١٢"}.items()}
    for name, r in {**answers, **ids}.items():
        # the filter's codes are the one filter's, the same on every path (streams, feeds, webhooks)
        expected = ("invalid_cursor" if name.startswith("cursor") else f"unknown_{name.split()[0]}"
                    if name.split()[0] in ("language", "kind", "source") else "invalid_parameter")
        assert (r.status_code, r.json()["error"]) == (400, expected), (name, r.text)
        assert r.headers["Content-Type"] == "application/json", name
        assert set(r.json()) == {"error", "detail"} and r.json()["detail"], name
    assert await table_digest(db) == before


async def test_malformed_requests_on_the_wire_are_4xx_not_5xx_nor_dropped(db, db_url):
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        port = api.port
        host = b"Host: 127.0.0.1\r\nConnection: close\r\n"
        non_utf8 = await _raw(port, b"GET /api/new-releases?q=%FF%FE HTTP/1.1\r\n" + host + b"\r\n")
        raw_bytes = await _raw(port, b"GET /api/new-releases?q=\xff\xfe HTTP/1.1\r\n" + host + b"\r\n")
        long_query = await _raw(port, b"GET /api/new-releases?q=" + b"a" * 20_000 + b" HTTP/1.1\r\n" + host + b"\r\n")
        huge_line = await _raw(port, b"GET /api/new-releases?q=" + b"a" * 100_000 + b" HTTP/1.1\r\n" + host + b"\r\n")
        huge_header = await _raw(port, b"GET /api/new-releases HTTP/1.1\r\n" + host
                                 + b"X-Junk: " + b"j" * 100_000 + b"\r\n\r\n")
    assert non_utf8[0] == 400 and json.loads(non_utf8[2])["error"] == "invalid_query_string"
    assert raw_bytes[0] == 400
    assert long_query[0] == 400 and json.loads(long_query[2])["error"] == "invalid_parameter"
    assert 400 <= huge_line[0] < 500 and 400 <= huge_header[0] < 500  # Hypercorn's own refusal


async def test_control_bodies_methods_and_sizes(db, db_url):
    before = await table_digest(db)
    token = {"Authorization": f"Bearer {issue_token(SECRET, ttl=60)}"}
    async with running_daemon(api_config(db_url, jwt_secret=SECRET, api_rate_limit=0)) as api:
        post = api.client.post
        as_json = {**token, "Content-Type": "application/json"}
        not_json = await post("/api/new-releases/fetch", headers=as_json, content=b"{not json")
        not_object = await post("/api/new-releases/fetch", headers=token, json=["ml"])
        bad_language = await post("/api/new-releases/fetch", headers=token, json={"languages": ["xx"]})
        extra = await post("/api/new-releases/fetch", headers=token, json={"languages": ["ml"], "drop": 1})
        binary = await post("/api/new-releases/fetch", headers=as_json, content=b"\xff\xfe\x00garbage")
        port = api.port
        too_big = await raw_post(port, "/api/new-releases/fetch", 10 * 1024 * 1024, token)
        too_big_anonymous = await raw_post(port, "/api/new-releases/fetch", 10 * 1024 * 1024, {})
        wrong_method = await post(LISTING)
        delete = await api.client.delete("/api/releases/1")
        get_fetch = await api.client.get("/api/new-releases/fetch")
    for r in (not_json, not_object, bad_language, extra, binary):
        assert r.status_code == 400 and r.json()["error"].startswith("invalid_"), r.text
    assert too_big[0] == too_big_anonymous[0] == 413
    assert too_big[1]["error"] == "payload_too_large"
    for r, allowed in ((wrong_method, "GET"), (delete, "GET"), (get_fetch, "POST")):
        assert r.status_code == 405 and allowed in r.headers["Allow"] and r.json()["error"] == "method_not_allowed"
    assert await table_digest(db) == before


async def test_a_refusal_over_an_unread_body_keeps_the_keep_alive_connection_usable(db_url):
    # regression: a 401 sent before the body was read left the next request on the connection hanging
    async with running_daemon(api_config(db_url, jwt_secret=SECRET, api_rate_limit=0)) as api:
        with trio.fail_after(5):
            for _ in range(3):
                refused = await api.client.post("/api/new-releases/fetch", json={})
                after = await api.client.get("/api/health")
                assert refused.status_code == 401 and after.status_code == 200


async def test_json_nested_past_the_parser_s_recursion_is_a_400_on_every_body(db, db_url):
    # 64,000 bytes (inside the 64 KiB limit) of brackets: json.loads alone raises RecursionError, a 500
    deep = b'{"name": ' + b"[" * 32000 + b"]" * 32000 + b"}"
    token = {"Authorization": f"Bearer {issue_token(SECRET, ttl=60)}", "Content-Type": "application/json"}
    async with running_daemon(api_config(db_url, jwt_secret=SECRET, api_rate_limit=0)) as api:
        made = await api.client.post("/api/watches", json={"name": "[" * 40 + " brackets in a string are text"})
        watch = {**token, "Authorization": f"Bearer {made.json()['token']}"}
        bodies = [(m, p.replace("{id}", made.json()["id"] if "watches" in p else "1"))
                  for p, ops in (await api.client.get("/openapi.json")).json()["paths"].items()
                  for m, op in ops.items() if isinstance(op, dict) and "requestBody" in op]
        answers = {(m, p): await api.client.request(m, p, content=deep, headers=watch if "watches/" in p else token)
                   for m, p in bodies}
        after = await api.client.get(f"/api/watches/{made.json()['id']}", headers=watch)
    assert made.status_code == 201, made.text
    assert len(bodies) >= 8  # every POST/PATCH/DELETE with a body the document lists (watches, webhooks, push…)
    for where, r in answers.items():  # redeliver looks its (missing) webhook up first: a 404
        expected = (404, "not_found") if where[1].endswith("/redeliver") else (400, "invalid_json")
        assert (r.status_code, r.json()["error"]) == expected, (where, r.text)
    assert after.json()["name"] == made.json()["name"]


def test_the_depth_counts_brackets_outside_strings_only():
    assert [depth_of(t) for t in ('{}', '[[1], {"a": [2]}]', '"[[[["', '{"a": "x\\"[[[", "b": [[]]}', '')] == \
        [1, 3, 0, 3, 0]
