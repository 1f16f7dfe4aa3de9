"""REDbot, an outside HTTP linter, finds nothing BAD and no avoidable WARN on any GET endpoint.

A real daemon on loopback (after one round, so the listing, a release and the feeds have
content) is linted URL by URL by ``tests/redbot_lint.py``: REDbot's own follow-up requests
(conditional GETs against our validators, content negotiation, ranges) run too.  Every GET path
in the OpenAPI document is covered, so a new endpoint is linted as soon as it is documented.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.daemon_proc import Daemon, clean_env, free_port
from tests.process_support import get_json, post, wait_for_event
from vibed.http.page import ASSETS

LINTER = Path(__file__).with_name("redbot_lint.py")
# Notes that are not ours to avoid here, each with the reason:
UNAVOIDABLE: dict[str, str] = {}  # (compression, issue 24, is negotiated now: its CONNEG_* notes are gone)
STREAMS = ("/api/new-releases/stream", "/api/new-releases/events")  # endless bodies: their heads are linted


def lint(url: str, stream: bool = False) -> list[dict[str, str]]:
    args = [sys.executable, str(LINTER), *(["--stream"] if stream else []), url]
    for _ in range(3):  # a fetch that failed (a loaded machine) is tried again: it is no finding about HTTP
        done = subprocess.run(args, capture_output=True, timeout=120, env=clean_env(), check=False)
        if done.returncode == 0:
            return [json.loads(line) for line in done.stdout.decode().splitlines()]
    raise AssertionError(done.stderr.decode()[-2000:])


def test_redbot_finds_nothing_bad_and_no_avoidable_warning_on_any_get_endpoint(tmp_path, fresh_db_url, simulator):
    port = free_port()
    env = clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=fresh_db_url, JIOSAAVN_BASE_URL=simulator,
                    VIBED_LANGUAGES="ml", VIBED_SCHEDULE="0 0 1 1 *",
                    VIBED_API_RATE_LIMIT="100000")  # REDbot's follow-up requests must not meet the limit
    base = f"http://127.0.0.1:{port}"
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        wait_for_event(daemon, "fetch_completed", round_id=post(f"{base}/api/new-releases/fetch")["round_id"])
        release = get_json(f"{base}/api/new-releases?limit=1")["data"][0]["id"]
        artist = get_json(f"{base}/api/artists?limit=1")["data"][0]["id"]
        page = urllib.request.urlopen(f"{base}/", timeout=10).read().decode()
        assets = re.findall(r'(?:src|href)="/static/([^"]+)"', page)
        documented = [p for p, ops in get_json(f"{base}/openapi.json")["paths"].items() if "get" in ops]
        paths = {
            "/": ["/"], "/static/{name}": [f"/static/{name}" for name in [*assets, "app.js", "style.css"]],
            "/api/new-releases": ["/api/new-releases", "/api/new-releases?language=ml&limit=2"],
            "/api/releases/{id}": [f"/api/releases/{release}", "/api/releases/999999"],
            "/api/artists/{id}": [f"/api/artists/{artist}", "/api/artists/999999"],
            "/api/webhooks/{id}": ["/api/webhooks/999999"],
            "/api/webhooks/{id}/deliveries": ["/api/webhooks/999999/deliveries"],
        }
        # a template not named above (a new endpoint) is asked with 1 for each parameter
        urls = [u for path in documented if path not in STREAMS
                for u in paths.get(path, [re.sub(r"\{[^}]+\}", "1", path)])]
        found = {u: lint(base + u) for u in urls} | {u: lint(base + u, stream=True) for u in STREAMS}
    finally:
        daemon.kill()
    assert len(assets) == len(ASSETS) and all(found.values()), found  # every URL answered and was linted
    problems = {url: [f"{n['level']} {n['note']}: {n['summary']}" for n in notes
                      if n["level"] in ("bad", "warning") and n["note"] not in UNAVOIDABLE]
                for url, notes in found.items()}
    assert {url: p for url, p in problems.items() if p} == {}
