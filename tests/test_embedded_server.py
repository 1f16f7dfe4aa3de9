"""The embedded server around the daemon: its log bounded, its exit explained, `vibed migrate` alone."""

from __future__ import annotations

import signal

from vibed.embedded.log import bound_log, exit_reason


def test_the_log_is_moved_aside_and_truncated_past_its_cap(tmp_path) -> None:
    log = tmp_path / "postgres.log"
    log.write_bytes(b"old line\n" * 200)
    with open(log, "ab") as writer:  # PostgreSQL's own O_APPEND descriptor stays valid
        assert bound_log(log, cap=1000)
        writer.write(b"next line\n")
    assert log.read_bytes() == b"next line\n"
    assert (tmp_path / "postgres.log.1").read_bytes().startswith(b"old line\n")
    assert not bound_log(log, cap=1000), "under the cap: left alone"


def test_exit_reason_names_the_signal_and_the_servers_own_last_fatal_line(tmp_path) -> None:
    log = tmp_path / "postgres.log"
    log.write_text("2026 [1] FATAL:  an earlier server's line\n")
    since = log.stat().st_size
    with open(log, "a") as f:
        f.write("2026 [2] PANIC:  could not write to file \"pg_wal/x\": No space left on device\n"
                "2026 [3] FATAL:  terminating connection due to unexpected postmaster exit\n")
    assert exit_reason(-signal.SIGKILL, log, since).startswith("killed by SIGKILL; log: 2026 [2] PANIC:")
    assert exit_reason(1, tmp_path / "missing.log") == "exited with code 1"


def test_migrate_alone_starts_its_own_server_and_stops_it(tmp_path) -> None:
    import subprocess

    from tests.daemon_proc import VIBED, clean_env, postgres_pids

    data_dir = tmp_path / "data"
    done = subprocess.run([*VIBED, "migrate"], env=clean_env(VIBED_DATA_DIR=str(data_dir)), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "embedded_postgres_stopped" in done.stdout and "left_running" not in done.stdout
    assert postgres_pids(data_dir) == []
