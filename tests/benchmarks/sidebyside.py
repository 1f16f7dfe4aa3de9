"""The pieces both side-by-side benchmarks share: the kit in ``../shared/bench``, built and started.

- ``build_sse_load``: ``gcc -O2`` of ``sse_load.c`` into a temporary directory.
- ``node_peer``: a peer copied out of the (possibly read-only) kit into
  ``~/.cache/vibed-bench/<peer>-<hash of its package files>``, ``npm ci`` once per hash.
- ``running``: a child process that is always stopped (SIGTERM, then SIGKILL) on the way out.
- ``rss_kib`` / ``PeakRss``: a process's VmRSS now, and its peak while a load runs.

Every child inherits this process's RLIMIT_NOFILE, so ``raise_fd_limit`` runs first.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import resource
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

KIT = Path(os.environ.get("VIBED_BENCH_KIT", Path(__file__).resolve().parents[3] / "shared" / "bench"))
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vibed-bench"


def raise_fd_limit() -> int:
    """Soft RLIMIT_NOFILE up to the hard one; children started later inherit it."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args!r} exited with {proc.returncode} before listening on {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


def build_sse_load(tmp: Path) -> Path:
    source = KIT / "sse_load.c"
    if not source.exists():
        raise SystemExit(f"the load generator is missing: {source} (set VIBED_BENCH_KIT to the kit's folder)")
    binary = tmp / "sse_load"
    subprocess.run(["gcc", "-O2", "-o", str(binary), str(source)], check=True)
    return binary


def node_peer(name: str) -> Path:
    """The peer's folder with ``node_modules`` installed; reused while its package files are unchanged."""
    source = KIT / "peers" / name
    files = ["package.json", "package-lock.json"]
    digest = hashlib.sha256(b"".join((source / f).read_bytes() for f in files)).hexdigest()[:12]
    home = CACHE / f"{name}-{digest}"
    if not (home / "node_modules").is_dir():
        staging = CACHE / f".{name}-{digest}-{os.getpid()}"
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        for f in files:
            shutil.copy(source / f, staging / f)
        print(f"npm ci in {staging} (once per package-lock)", flush=True)
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=staging, check=True,
                       timeout=600)
        shutil.rmtree(home, ignore_errors=True)
        staging.rename(home)
    for f in source.iterdir():  # the peer's code itself is always the kit's current one
        if f.is_file() and f.name not in files:
            shutil.copy(f, home / f.name)
    return home


@contextlib.contextmanager
def running(args: list[str], **popen: object) -> Iterator[subprocess.Popen]:
    """Start a child; whatever happens, it is stopped before this block is left."""
    proc = subprocess.Popen(args, **popen)  # type: ignore[call-overload]
    try:
        yield proc
    finally:
        stop(proc)


def stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Close its stdin (our servers end on EOF), then SIGTERM, then SIGKILL."""
    if proc.stdin is not None and proc.poll() is None:
        with contextlib.suppress(OSError):
            proc.stdin.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(grace)
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    for stream in (proc.stdin, proc.stdout, proc.stderr):
        if stream is not None:
            with contextlib.suppress(OSError):
                stream.close()


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS:")).split()[1])


class PeakRss:
    """Samples a process's VmRSS every ``interval`` seconds from a thread until ``stop()``: the
    ``peak``, and the timeline (``time.monotonic()``, KiB) to read the value at a given moment."""

    def __init__(self, pid: int, interval: float = 0.05) -> None:
        self.pid, self.interval = pid, interval
        self.samples = [(time.monotonic(), rss_kib(pid))]
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    @property
    def peak(self) -> int:
        return max(kib for _, kib in self.samples)

    def _sample(self) -> None:
        while not self._done.wait(self.interval):
            try:
                self.samples.append((time.monotonic(), rss_kib(self.pid)))
            except (OSError, StopIteration):  # the process is gone
                return

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        with contextlib.suppress(OSError, StopIteration):
            self.samples.append((time.monotonic(), rss_kib(self.pid)))
        return self.peak

    def after(self, moment: float) -> int | None:
        """The first sample taken at or after ``moment``."""
        return next((kib for t, kib in self.samples if t >= moment), None)

    def before(self, moment: float) -> int | None:
        """The last sample taken at or before ``moment``."""
        return next((kib for t, kib in reversed(self.samples) if t <= moment), None)
