"""The embedded PostgreSQL against another local user: a private socket directory, and peer authentication.

The old weaknesses, each tried for real: a directory (or symlink) made in advance at the
predictable ``/tmp`` fallback path, a connection as a role that the OS user is not mapped to,
a connection by another OS user (as root: the cluster's own user), and a cluster an older vibed
initialised with ``trust``.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_support import reachable_by_the_cluster_user
from vibed.embedded.auth import hba_text
from vibed.embedded.binaries import runnable_bin_dir
from vibed.embedded.server import PORT, EmbeddedPostgresError, EmbeddedServer, bin_dir
from vibed.embedded.socket_dir import private_dir


def psql(server: EmbeddedServer, sql: str, role: str = "postgres", os_user: str | None = None) -> subprocess.CompletedProcess:
    binaries = runnable_bin_dir(bin_dir(), os_user)  # the cluster user runs the copy it can reach
    return subprocess.run([str(binaries / "psql"), "-X", "-h", str(server.sockdir), "-p", str(PORT), "-U", role,
                           "-d", "postgres", "-tAc", sql], capture_output=True, text=True, timeout=30,
                          **({"user": os_user, "group": os_user, "extra_groups": []} if os_user else {}))


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedServer]:
    embedded = EmbeddedServer(tmp_path / "data")
    embedded.start_blocking()
    try:
        yield embedded
    finally:
        embedded.stop_blocking()


def _old_fallback(pgdata: Path) -> Path:
    """Where vibed used to put the socket of a long data directory path: predictable, made with exist_ok."""
    return Path(tempfile.gettempdir()) / f"vibed-pg-{hashlib.sha256(str(pgdata).encode()).hexdigest()[:12]}"


@pytest.mark.parametrize("planted", ["open directory", "symlink"])
def test_a_directory_planted_at_the_old_fallback_path_is_never_used(tmp_path, planted) -> None:
    data = tmp_path / ("long-" * 16) / "data"  # a socket path under it would pass 107 bytes
    data.mkdir(parents=True)
    reachable_by_the_cluster_user(data, tmp_path)
    embedded = EmbeddedServer(data)
    trap = _old_fallback(embedded.pgdata)
    target = tmp_path / "attacker-owned"
    target.mkdir(mode=0o777)
    target.chmod(0o777)
    if planted == "symlink":
        trap.symlink_to(target)
    else:
        trap.mkdir(mode=0o777)
        trap.chmod(0o777)
    try:
        embedded.start_blocking()
        try:
            sockdir = embedded.sockdir
            assert sockdir not in (trap, target) and not sockdir.is_symlink()
            st = os.lstat(sockdir)
            assert stat.S_IMODE(st.st_mode) == 0o700 and st.st_uid == embedded.uid
            assert psql(embedded, "SELECT 1").stdout.strip() == "1"
            assert list(target.iterdir()) == [], "nothing of the server's went where the attacker looks"
        finally:
            embedded.stop_blocking()
        assert not sockdir.exists(), "the socket directory vibed made is removed with the server"
    finally:
        trap.unlink() if trap.is_symlink() else trap.rmdir()


def test_a_socket_directory_is_used_only_if_private_real_and_ours(tmp_path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    assert private_dir(mine, os.geteuid()) == mine
    wide = tmp_path / "wide"
    wide.mkdir()
    wide.chmod(0o777)
    link = tmp_path / "link"
    link.symlink_to(mine)
    for path, problem in ((wide, "open to other users"), (link, "a symlink"), (mine, "owned by uid")):
        with pytest.raises(EmbeddedPostgresError, match=problem):
            private_dir(path, os.geteuid() if path != mine else os.geteuid() + 1)


def test_only_the_os_user_running_vibed_gets_in(server) -> None:
    assert psql(server, "SELECT 1").stdout.strip() == "1"
    assert psql(server, "CREATE ROLE intruder SUPERUSER LOGIN").returncode == 0
    refused = psql(server, "SELECT 1", role="intruder")  # a role this OS user is not mapped to
    assert refused.returncode != 0 and "Peer authentication failed" in refused.stderr, refused
    if os.geteuid() == 0:  # another OS user that can reach the socket: the cluster's own
        other = psql(server, "SELECT 1", os_user=server.user)
        assert other.returncode != 0 and "Peer authentication failed" in other.stderr, other
    modes = {name: stat.S_IMODE((server.pgdata / name).stat().st_mode) for name in ("pg_hba.conf", "pg_ident.conf")}
    assert modes == {"pg_hba.conf": 0o600, "pg_ident.conf": 0o600}
    assert pwd.getpwuid(os.geteuid()).pw_name in (server.pgdata / "pg_ident.conf").read_text()


def test_a_cluster_initialised_with_trust_is_upgraded_at_its_next_start(server) -> None:
    server.stop_blocking()
    (server.pgdata / "pg_hba.conf").write_text("local all all trust\n")  # what vibed wrote before
    assert server.prepare() is False and server.auth_upgraded
    assert (server.pgdata / "pg_hba.conf").read_text() == hba_text()
    server.start_blocking()
    psql(server, "CREATE ROLE intruder SUPERUSER LOGIN")
    refused = psql(server, "SELECT 1", role="intruder")
    assert refused.returncode != 0 and "Peer authentication failed" in refused.stderr, refused


def test_a_live_server_is_adopted_only_through_a_private_socket_directory(tmp_path) -> None:
    data = tmp_path / ("long-" * 16) / "data"
    data.mkdir(parents=True)
    reachable_by_the_cluster_user(data, tmp_path)
    owner = EmbeddedServer(data)
    owner.start_blocking()
    try:
        owner.sockdir.chmod(0o777)  # as if someone widened it while it ran
        other = EmbeddedServer(data)  # e.g. `vibed migrate` beside the daemon
        other.prepare()
        with pytest.raises(EmbeddedPostgresError, match="open to other users"):
            other.spawn()
        owner.sockdir.chmod(0o700)
        other.spawn()
        assert other.adopted and other.sockdir == owner.sockdir
        other.release()
    finally:
        owner.stop_blocking()
