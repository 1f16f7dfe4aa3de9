"""/metrics after a round on the simulator, and `vibed status` against a live daemon."""

from __future__ import annotations

import subprocess

import trio

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from tests.daemon_proc import VIBED, clean_env, free_port

FAMILIES = [
    "vibed_upstream_requests_total", "vibed_bucket_tokens", "vibed_releases_stored_total",
    "vibed_events_published_total", "vibed_sse_clients", "vibed_event_delivery_seconds",
    "vibed_actor_restarts", "vibed_http_requests_total", "vibed_round_duration_seconds",
]


def _value(text: str, sample: str) -> float:
    """The value of one exact sample line (``name{labels}``) in Prometheus text."""
    found = [line.rsplit(" ", 1)[1] for line in text.splitlines() if line.rsplit(" ", 1)[0] == sample]
    assert len(found) == 1, f"{sample} not exactly once in /metrics"
    return float(found[0])


async def test_metrics_show_every_family_after_one_round(db, db_url, sim_url):
    async with running_daemon(api_config(db_url, jiosaavn_base_url=sim_url, languages="ml,hi")) as daemon:
        answer = await daemon.client.post("/api/new-releases/fetch", json={})
        assert answer.status_code == 202
        progress = await daemon.rounds.wait(answer.json()["round_id"])
        assert progress.requests == 6  # two languages, each to the page cap (3): the seed catalogue is longer
        text = (await daemon.client.get("/metrics")).text
    for family in FAMILIES:
        assert f"# HELP {family.removesuffix('_total')}" in text, family
    assert 'vibed_upstream_requests_total{language="ml",outcome="ok",source="jiosaavn"}' in text
    assert 'vibed_http_requests_total{route="/api/new-releases/fetch",status="202"} 1.0' in text
    assert "vibed_round_duration_seconds_count 1.0" in text
    tokens = [line for line in text.splitlines() if line.startswith('vibed_bucket_tokens{service="jiosaavn"}')]
    assert tokens and 990 < float(tokens[0].split()[-1]) < 1000
    # every state metric by value, against what the round left in the database
    releases = await db.fetchval("SELECT count(*) FROM releases")
    events = await db.fetchval("SELECT count(*) FROM events")
    assert releases > 0  # the seed catalogue is old: a first round stores releases and publishes no event
    assert _value(text, "vibed_releases_stored_total") == releases
    assert _value(text, "vibed_events_published_total") == events
    assert _value(text, 'vibed_upstream_requests_total{language="ml",outcome="ok",source="jiosaavn"}') == 3
    assert _value(text, 'vibed_upstream_requests_total{language="hi",outcome="ok",source="jiosaavn"}') == 3
    assert _value(text, "vibed_sse_clients") == 0
    assert _value(text, 'vibed_source_available{source="jiosaavn"}') == 1
    # no stream reconnected: nothing replayed, from memory or the database, and nobody waiting for one
    assert _value(text, 'vibed_stream_replays_total{source="memory"}') == 0
    assert _value(text, 'vibed_stream_replays_total{source="coalesced"}') == 0
    assert _value(text, "vibed_replay_queries_total") == 0
    assert _value(text, "vibed_replay_waiting") == 0
    assert _value(text, 'vibed_http_requests_total{route="/api/new-releases/fetch",status="202"}') == 1


async def test_status_prints_a_summary_and_exits_0_when_healthy(db_url, sim_url):
    async with running_daemon(api_config(db_url, jiosaavn_base_url=sim_url, languages="ml")) as daemon:
        port = daemon.port
        done = await trio.to_thread.run_sync(lambda: subprocess.run(
            [*VIBED, "status"], env=clean_env(PORT=str(port)), capture_output=True, text=True, timeout=30))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("vibed 0.1.0: OK")
    assert "database   reachable (external)" in done.stdout
    assert "bucket     jiosaavn: " in done.stdout


def test_status_exits_3_when_no_daemon_answers(tmp_path):
    done = subprocess.run([*VIBED, "status"], env=clean_env(PORT=str(free_port())), cwd=tmp_path,
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 3
    assert "no daemon answers at http://127.0.0.1:" in done.stderr
