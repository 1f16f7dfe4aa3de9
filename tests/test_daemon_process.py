"""``vibed run`` as a real process: embedded PostgreSQL, health, clean stops, clear start-up errors."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import time

import pytest

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port, postgres_pids


def test_embedded_start_health_sigterm_and_restart_reuses_data(tmp_path, data_dir):
    port = free_port()
    env = clean_env(PORT=str(port), VIBED_DATA_DIR=str(data_dir), JWT_SECRET="never-logged-secret-0123456789abcdef")
    first = Daemon(tmp_path, env)
    try:
        first.wait_healthy(timeout=60)  # a ceiling: initdb included, on a loaded machine
        status, body = first.health()
        assert body["status"] == "ok" and body["database"] == {"reachable": True, "embedded": True}
        assert set(body["actors"]) >= {"scheduler", "writer", "broadcaster", "fetcher-1", "fetcher-2"}
        assert postgres_pids(data_dir), "the embedded server runs in the data directory"
        code, _ = first.stop(signal.SIGTERM, timeout=60)
        assert code == 0
    finally:
        first.kill()
    assert postgres_pids(data_dir) == []
    events = first.events()  # every stdout line is JSON in the guide's shape
    assert all(e["timestamp"].endswith("Z") and list(e)[:2] == ["timestamp", "event"] for e in events)
    names = [e["event"] for e in events]
    assert "embedded_postgres_initialised" in names and names[-1] == "embedded_postgres_stopped"
    # SIGTERM to the embedded server stopped within the grace period (8 s), by the daemon's own clock
    at = {e["event"]: dt.datetime.fromisoformat(e["timestamp"]) for e in events}
    assert (at["embedded_postgres_stopped"] - at["shutdown_requested"]).total_seconds() <= 8, events[-4:]
    assert first.stderr() == ""
    assert "never-logged-secret" not in first.stdout()

    second = Daemon(tmp_path, env)
    try:
        second.wait_healthy(timeout=60)  # without initdb: asserted on its log below, not on a stopwatch
        code, _ = second.stop(signal.SIGINT, timeout=60)
        assert code == 0
    finally:
        second.kill()
    assert "embedded_postgres_initialised" not in [e["event"] for e in second.events()]
    assert postgres_pids(data_dir) == []


def test_sigkill_of_the_daemon_takes_the_embedded_server_down_and_the_next_start_recovers(tmp_path, data_dir):
    port = free_port()
    env = clean_env(PORT=str(port), VIBED_DATA_DIR=str(data_dir))
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        daemon.stop(signal.SIGKILL)
    finally:
        daemon.kill()
    deadline = time.monotonic() + 10
    while postgres_pids(data_dir) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert postgres_pids(data_dir) == [], "the server follows its parent down (PR_SET_PDEATHSIG)"
    again = Daemon(tmp_path, env)
    try:
        again.wait_healthy(timeout=60)
        assert again.stop(timeout=60)[0] == 0
    finally:
        again.kill()


def run_cli(tmp_path, *args, timeout=60, **env):
    return subprocess.run([*VIBED, *args], cwd=tmp_path, env=clean_env(**env), capture_output=True,
                          text=True, timeout=timeout)


def test_unreachable_database_url_fails_with_one_clear_line(tmp_path):
    started = time.monotonic()
    done = run_cli(tmp_path, "run", DATABASE_URL="postgresql://nobody:pw123@127.0.0.1:1/x",
                   PORT=str(free_port()))
    assert done.returncode == 1
    assert time.monotonic() - started < 30  # bounded retries, not a hang
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("vibed: cannot reach the database at postgresql://nobody:***@127.0.0.1:1/x")
    assert "pw123" not in done.stderr + done.stdout
    for line in done.stdout.splitlines():
        json.loads(line)


@pytest.mark.parametrize(("env", "fragment"), [
    ({"PORT": "abc"}, "PORT='abc' is not a port number"),
    ({"VIBED_LANGUAGES": "ml,zz"}, "unknown language code 'zz'"),
    ({"DATABASE_URL": "mysql://root:topsecret@db/x"}, "DATABASE_URL='***' is not a postgresql:// URL"),
])
def test_bad_configuration_exits_2_with_one_line(tmp_path, env, fragment):
    done = run_cli(tmp_path, "run", timeout=20, **env)
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and fragment in done.stderr
    assert "Traceback" not in done.stderr and "topsecret" not in done.stderr


def test_port_in_use_is_one_clear_line(tmp_path, pg_server):
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        done = run_cli(tmp_path, "run", PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=pg_server)
    assert done.returncode == 1
    assert "the HTTP port is already in use" in done.stderr and "Traceback" not in done.stderr


def test_help_documents_the_environment_names(tmp_path):
    done = run_cli(tmp_path, "run", "--help", timeout=20)
    assert done.returncode == 0
    for name in ("DATABASE_URL", "REDIS_URL", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "JWT_SECRET",
                 "PORT", "DEBUG", "VIBED_DATA_DIR", "VIBED_LANGUAGES", "VIBED_SCHEDULE", "JIOSAAVN_BASE_URL",
                 "SPOTIFY_API_URL", "SPOTIFY_ACCOUNTS_URL"):
        assert name in done.stdout
    version = run_cli(tmp_path, "--version", timeout=20)
    assert version.stdout.startswith("vibed ")


def test_migrate_applies_and_is_idempotent(tmp_path, pg_server):
    # a database of its own, created empty (no template)
    import trio
    import trio_asyncio

    from tests.pg_support import with_database
    from vibed.store.postgres import open_database

    name = f"migrate_{int(time.time() * 1000)}"

    async def create():
        async with trio_asyncio.open_loop(), open_database(pg_server, pool_size=1) as db:
            await db.execute(f'CREATE DATABASE "{name}"')

    trio.run(create)
    url = with_database(pg_server, name)
    first = run_cli(tmp_path, "migrate", DATABASE_URL=url)
    assert first.returncode == 0, first.stderr
    applied = [json.loads(line) for line in first.stdout.splitlines()]
    assert [e["name"] for e in applied if e["event"] == "migration_applied"][:1] == ["0001_init.sql"]
    second = run_cli(tmp_path, "migrate", DATABASE_URL=url)
    assert second.returncode == 0
    assert "migration_applied" not in second.stdout
