"""Roles with real processes: one ``--role fetch`` and two ``--role serve`` on one PostgreSQL and one Redis.

A round asked of a serve process reaches the fetch process over Redis; a stream client on each serve
process gets every event once, in order; the fetch process answers only health and metrics; killing
it stops fetching, not streaming.
"""

from __future__ import annotations

import subprocess
import urllib.error
import urllib.request

import pytest

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port
from tests.process_support import StreamReader, event_ids, post, wait_until


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_serve_without_redis_is_a_clear_start_up_error(tmp_path):
    env = clean_env(DATABASE_URL="postgresql://vibed@127.0.0.1:1/vibed")
    done = subprocess.run([*VIBED, "run", "--role", "serve"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=30)
    assert done.returncode == 2
    assert done.stderr.strip() == ("vibed: VIBED_ROLE=serve needs REDIS_URL: a serve process takes its events "
                                   "from Redis, where the fetch process publishes them (set REDIS_URL, or use "
                                   "--role all)")
    embedded = subprocess.run([*VIBED, "run", "--role", "fetch"], cwd=tmp_path, env=clean_env(),
                              capture_output=True, text=True, timeout=30)
    assert embedded.returncode == 2 and "VIBED_ROLE=fetch needs DATABASE_URL" in embedded.stderr


def test_serve_processes_hand_rounds_to_the_fetch_process_and_keep_streaming_when_it_dies(tmp_path, fresh_db_url, simulator, redis_server):
    common = dict(DATABASE_URL=fresh_db_url, REDIS_URL=redis_server.url, JIOSAAVN_BASE_URL=simulator,
                  VIBED_LANGUAGES="ml,hi", VIBED_SCHEDULE="0 0 1 1 *", VIBED_HOST="127.0.0.1", VIBED_PAGE_CAP="2")
    ports = {name: free_port() for name in ("fetch", "serve1", "serve2")}
    daemons: dict[str, Daemon] = {}
    readers: list[StreamReader] = []
    try:
        for name, port in ports.items():
            (tmp_path / name).mkdir()
            daemons[name] = Daemon(tmp_path / name, clean_env(PORT=str(port), **common),
                                   ("run", "--role", name.rstrip("12")))
        for daemon in daemons.values():
            daemon.wait_healthy(30)
        fetch, serve1, serve2 = daemons["fetch"], daemons["serve1"], daemons["serve2"]

        # the fetch process answers health and metrics only; the serve processes run no pipeline
        base = {name: f"http://127.0.0.1:{port}" for name, port in ports.items()}
        assert status_of(f"{base['fetch']}/metrics") == 200
        assert status_of(f"{base['fetch']}/api/new-releases") == 404
        assert status_of(f"{base['fetch']}/api/new-releases/stream") == 503
        assert status_of(f"{base['serve1']}/api/new-releases") == 200
        assert {"scheduler", "writer", "fetcher-1"} <= set(fetch.health()[1]["actors"])
        assert not {"scheduler", "writer", "fetcher-1"} & set(serve1.health()[1]["actors"])
        # each process says which role it runs: in its health and in its daemon_ready line
        processes = (fetch, serve1, serve2)
        assert [d.health()[1]["role"] for d in processes] == ["fetch", "serve", "serve"]
        assert [next(e.get("role") for e in d.events() if e["event"] == "daemon_ready") for d in processes] == \
            ["fetch", "serve", "serve"]

        readers = [StreamReader(ports["serve1"]), StreamReader(ports["serve2"])]
        for reader in readers:
            reader.start()
        wait_until(lambda: all(r.answered.is_set() for r in readers), 10, "both stream clients to be answered")

        # a round asked of a serve process runs in the fetch process, under the same id
        answer = post(f"{base['serve1']}/api/new-releases/fetch")
        wait_until(lambda: any(e["event"] == "fetch_completed" and e["round_id"] == answer["round_id"]
                               for e in fetch.events()), 20, "the fetch process to run the round")
        post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Second Round"})
        second = post(f"{base['serve2']}/api/new-releases/fetch")
        wait_until(lambda: any(e["event"] == "fetch_completed" and e["round_id"] == second["round_id"]
                               for e in fetch.events()), 20, "the second round")
        assert not any(e["event"].startswith("fetch_") for d in (serve1, serve2) for e in d.events())
        # a serve process knows when the deployment last fetched: from the database, not from itself
        fetched = serve1.health()[1]["fetch"]
        assert fetched["last_success_age_s"] is not None and fetched["last_success_age_s"] < 60, fetched

        stored = event_ids(fresh_db_url)
        assert len(stored) > 2
        wait_until(lambda: all(set(stored) <= set(r.ids) for r in readers), 10, "both clients to catch up")
        for reader in readers:
            assert reader.ids == stored  # every event once, in order

        # killing the fetch process stops fetching, not streaming
        fetch.kill()
        post(f"{simulator}/_sim/release", {"language": "ml", "kind": "album", "title": "Nobody Fetches"})
        with pytest.raises(urllib.error.HTTPError) as refused:  # no round will run: 503, not 202
            post(f"{base['serve1']}/api/new-releases/fetch")
        assert refused.value.code == 503 and b"no fetch process listens" in refused.value.read()
        wait_until(lambda: any(e["event"] == "round_not_forwarded" for e in serve1.events()), 10,
                   "the serve process to log why")
        assert event_ids(fresh_db_url) == stored
        assert all(not r.closed for r in readers)
        assert serve1.health()[0] == 200 and serve2.health()[0] == 200
    finally:
        for reader in readers:
            reader.sock.close()
        for daemon in daemons.values():
            daemon.close()
