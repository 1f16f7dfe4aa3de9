"""/openapi.json is a valid OpenAPI 3.1 document, lists every route, and real answers conform to it."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import trio
from openapi_spec_validator import validate

from tests.api_support import api_config, conforms, release, store, table_digest
from tests.daemon_inproc import running_daemon

SECRET = "openapi-test-secret-0123456789abcdef"
ST = Path(sys.executable).parent / "st"
# served by the delivery gateway (endless streams) or not HTTP at all: described, not fuzzed
NOT_FUZZED = r"^/api/new-releases/(stream|events|ws)$"


async def test_the_document_is_valid_openapi_3_1_and_covers_every_route(db_url):
    async with running_daemon(api_config(db_url)) as api:
        doc = (await api.client.get("/openapi.json")).json()
        routes = {(re.sub(r"<[^>]+>", "{}", rule.rule), method) for rule in api.runtime.services.app.url_map.iter_rules()
                  for method in rule.methods - {"HEAD", "OPTIONS"} if rule.endpoint != "static"}
    validate(doc)  # raises on anything that is not OpenAPI 3.1
    assert doc["openapi"].startswith("3.1")
    documented = {(re.sub(r"\{[^}]+\}", "{}", path), method.upper())
                  for path, item in doc["paths"].items() for method in item}
    assert routes <= documented, routes - documented
    for path in ("/api/new-releases/stream", "/api/new-releases/ws", "/metrics", "/api/health"):
        assert path in doc["paths"]
    fetch = doc["paths"]["/api/new-releases/fetch"]["post"]
    assert fetch["security"] == [{"bearerAuth": []}] and {"202", "400", "401", "403", "429"} <= set(fetch["responses"])
    stream = doc["paths"]["/api/new-releases/stream"]["get"]
    assert "text/event-stream" in stream["responses"]["200"]["content"]
    assert {p["name"] for p in stream["parameters"]} == {"language", "source", "kind", "artist", "watch",
                                                          "last_event_id", "Last-Event-ID"}


async def test_real_answers_conform_to_the_document(db, db_url):
    await store(db, release(1), release(2, day=None, kind="song"), release(3, source="spotify", language="hi"))
    async with running_daemon(api_config(db_url, api_rate_limit=8, jwt_secret=SECRET)) as api:
        get = api.client.get
        doc = (await get("/openapi.json")).json()
        page = await get("/api/new-releases", params={"limit": 2})
        rid = page.json()["data"][0]["id"]
        cases = [
            ("/api/new-releases", page), ("/api/new-releases", await get("/api/new-releases?limit=0")),
            ("/api/new-releases", await get("/api/new-releases?limit=2", headers={"If-None-Match": page.headers["ETag"]})),
            ("/api/releases/{id}", await get(f"/api/releases/{rid}")),
            ("/api/releases/{id}", await get("/api/releases/424242")),
            ("/api/rate-limit", await get("/api/rate-limit")),
            ("/api/health", await get("/api/health")),
            ("/api/new-releases/fetch", await api.client.post("/api/new-releases/fetch")),
            ("/api/releases/{id}", await get("/api/releases/1")),
            ("/api/rate-limit", await get("/api/rate-limit")),  # the 9th counted request: 429
        ]
    methods = {"/api/new-releases/fetch": "post"}
    assert [r.status_code for _, r in cases] == [200, 400, 304, 200, 404, 200, 200, 401, 200, 429]
    for path, response in cases:
        conforms(doc, path, methods.get(path, "get"), response)


async def test_schemathesis_finds_no_server_error_and_no_answer_off_the_document(db, db_url, tmp_path):
    await store(db, *(release(n, day=None if n % 5 == 0 else release(n).release_date) for n in range(40)))
    before = await table_digest(db)
    # jwt_secret set: generated control requests are refused (401) instead of starting rounds
    async with running_daemon(api_config(db_url, api_rate_limit=0, jwt_secret=SECRET)) as api:
        result = await trio.run_process(
            [str(ST), "run", f"{api.base_url}/openapi.json",
             "--checks", "not_a_server_error,response_schema_conformance",
             "--exclude-path-regex", NOT_FUZZED, "--max-examples", "15", "--seed", "20260301",
             "--generation-deterministic", "--workers", "2",
             "--phases", "examples,coverage,fuzzing", "--request-timeout", "10", "--no-color",
             "--report", "junit", "--report-dir", str(tmp_path)],
            capture_stdout=True, capture_stderr=True, check=False, cwd=tmp_path)
    output = result.stdout.decode(errors="replace") + result.stderr.decode(errors="replace")
    assert result.returncode == 0, output[-6000:]
    junit = next(tmp_path.glob("*.xml")).read_text()
    assert 'tests="' in junit and ' failures="0"' in junit and ' errors="0"' in junit, junit[:2000]
    assert await table_digest(db) == before
