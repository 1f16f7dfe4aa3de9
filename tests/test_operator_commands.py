"""``vibed db`` and ``vibed bucket`` as an operator runs them, against a running daemon and without one."""

from __future__ import annotations

import json
import subprocess
from urllib.parse import urlsplit

import trio

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port, postgres_pids


def vibed(cwd, env, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*VIBED, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_db_and_bucket_against_the_running_embedded_daemon_and_without_it(tmp_path, data_dir):
    env = clean_env(PORT=str(free_port()), VIBED_DATA_DIR=str(data_dir), VIBED_SCHEDULE="0 0 1 1 *")
    daemon = Daemon(tmp_path, env)
    try:
        daemon.wait_healthy(timeout=30)
        url = vibed(tmp_path, env, "db", "url")
        assert url.returncode == 0 and url.stderr == ""
        assert url.stdout.startswith("postgresql://postgres@/vibed?host=") and str(data_dir) in url.stdout

        sql = vibed(tmp_path, env, "db", "psql", "-tA", "-c", "SELECT current_database(), count(*) FROM "
                    "rate_limit_tokens")
        assert sql.returncode == 0, sql.stderr
        assert sql.stdout.strip() == "vibed|2"

        changed = vibed(tmp_path, env, "bucket", "set", "jiosaavn", "--max", "2000", "--per-day", "2000")
        assert changed.returncode == 0, changed.stderr
        shown = json.loads(vibed(tmp_path, env, "bucket", "show", "--json").stdout)
        jio = next(b for b in shown if b["service"] == "jiosaavn")
        assert (jio["max_tokens"], jio["per_day"]) == (2000, 2000)
        # the running daemon sees it at once: its health reads the same row
        assert daemon.health()[1]["buckets"]["jiosaavn"]["max_tokens"] == 2000
        assert daemon.proc.poll() is None
    finally:
        code, _ = daemon.stop()
        daemon.kill()
    assert code == 0 and postgres_pids(data_dir) == []

    # the daemon is gone: the command starts the embedded server for itself and stops it after
    stopped = vibed(tmp_path, env, "db", "url")
    assert "not running" in stopped.stderr
    zero = vibed(tmp_path, env, "bucket", "set", "jiosaavn", "--tokens", "0")
    assert zero.returncode == 0, zero.stderr
    line = next(x for x in zero.stdout.splitlines() if x.startswith("jiosaavn"))
    assert line.split()[1:4] == ["0.00", "2000", "2000"]
    assert postgres_pids(data_dir) == []
    unknown = vibed(tmp_path, env, "bucket", "set", "nosuch", "--tokens", "0")
    assert unknown.returncode == 2 and "'nosuch'" in unknown.stderr
    assert postgres_pids(data_dir) == []


def test_db_url_redacts_the_password_unless_asked(tmp_path):
    env = clean_env(DATABASE_URL="postgresql://vibed:s3cret-pw@db.example:5432/vibed?sslmode=require")
    hidden = vibed(tmp_path, env, "db", "url")
    assert hidden.stdout.strip() == "postgresql://vibed:***@db.example:5432/vibed?sslmode=require"
    shown = vibed(tmp_path, env, "db", "url", "--show-password")
    assert shown.stdout.strip() == "postgresql://vibed:s3cret-pw@db.example:5432/vibed?sslmode=require"
    sim = vibed(tmp_path, env, "db", "url", "--simulate")
    assert sim.stdout.strip() == "postgresql://vibed:***@db.example:5432/vibed_sim?sslmode=require"


async def in_thread(*args, **kwargs) -> subprocess.CompletedProcess[str]:
    return await trio.to_thread.run_sync(lambda: vibed(*args, **kwargs))


async def test_db_psql_and_bucket_on_database_url(tmp_path, db_url):
    env = clean_env(DATABASE_URL=db_url)
    name = urlsplit(db_url).path.lstrip("/")
    done = await in_thread(tmp_path, env, "db", "psql", "-tA", "-c", "SELECT current_database()")
    assert done.returncode == 0 and done.stdout.strip() == name
    await in_thread(tmp_path, env, "bucket", "set", "jiosaavn", "--per-day", "500")
    shown = json.loads((await in_thread(tmp_path, env, "bucket", "show", "--json")).stdout)
    assert next(b for b in shown if b["service"] == "jiosaavn")["per_day"] == 500
    # the simulation's buckets are its own, in a database of its own made on first use
    sim = json.loads((await in_thread(tmp_path, env, "bucket", "show", "--json", "--simulate")).stdout)
    assert next(b for b in sim if b["service"] == "jiosaavn")["per_day"] == 1000
    where = await in_thread(tmp_path, env, "db", "psql", "--simulate", "-tA", "-c", "SELECT current_database()")
    assert where.stdout.strip() == f"{name}_sim"
