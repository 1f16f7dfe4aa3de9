"""The embedded PostgreSQL under the daemon's supervision: a server that keeps dying ends the daemon with the
reason; ``vibed migrate`` beside a running daemon uses the daemon's server and leaves it running."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
import trio

from tests.daemon_proc import VIBED, clean_env
from tests.pipeline_support import captured_logs, events_named
from vibed.embedded import watch as embedded_watch
from vibed.embedded.server import EmbeddedPostgresError
from vibed.embedded.watch import open_embedded_postgres
from vibed.store.postgres import open_database


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().split()[0])


async def test_a_server_that_keeps_exiting_ends_supervision_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(embedded_watch, "MAX_RESTARTS", 1)  # the second exit within the window is one too many
    with captured_logs() as logs, pytest.raises(ExceptionGroup) as caught, trio.fail_after(30):
        async with open_embedded_postgres(tmp_path, supervise=True):
            first = postmaster_pid(tmp_path)
            os.kill(first, signal.SIGKILL)
            while not events_named(logs, "embedded_postgres_restarted"):
                await trio.sleep(0.02)
            second = postmaster_pid(tmp_path)
            assert second != first
            os.kill(second, signal.SIGKILL)
            await trio.sleep_forever()  # until supervision gives up
    [error] = caught.value.exceptions
    assert isinstance(error, EmbeddedPostgresError)
    assert str(error) == (f"the embedded PostgreSQL exited 2 times within 60 s (last: killed by SIGKILL); "
                          f"see {tmp_path / 'postgres.log'}")
    exits = events_named(logs, "embedded_postgres_exited")
    assert [(e["pid"], e["reason"]) for e in exits] == [(first, "killed by SIGKILL"), (second, "killed by SIGKILL")]


async def test_migrate_beside_a_running_daemon_uses_its_server_and_leaves_it_running(tmp_path, aio_loop):
    data = tmp_path / "data"
    async with open_embedded_postgres(data, supervise=True) as dsn:
        pid = postmaster_pid(data)
        done = await trio.run_process([*VIBED, "migrate", "--data-dir", str(data)], cwd=tmp_path, env=clean_env(),
                                      capture_stdout=True, capture_stderr=True, check=False)
        assert done.returncode == 0, done.stderr.decode()
        events = [line for line in done.stdout.decode().splitlines() if '"embedded_postgres_' in line]
        assert any('"embedded_postgres_adopted"' in e and '"owner": "another process"' in e for e in events)
        assert any('"embedded_postgres_left_running"' in e and f'"pid": {pid}' in e for e in events)
        assert postmaster_pid(data) == pid
        async with open_database(dsn, pool_size=1) as db:  # still ours, still answering
            assert await db.fetchval("SELECT 1") == 1
