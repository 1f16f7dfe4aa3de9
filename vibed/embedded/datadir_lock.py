"""Advisory locks in the data directory: who runs the daemon, who owns the embedded server.

``flock`` locks die with their process, so a SIGKILLed holder never leaves a stale lock.  The
holder writes its pid into the file, for the message a refused process prints.

- ``daemon.lock``: held by ``vibed run`` for its whole life; a second daemon on the same data
  directory is refused (both would supervise, restart and stop one server).
- ``postgres.lock``: held by the process that owns the embedded server (started it, or took
  over an orphan).  Only the holder stops the server; anyone else only uses it.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path


class DataDirBusy(RuntimeError):
    """Another live process holds the lock; str() is one clear line."""


def try_lock(path: Path) -> int | None:
    """The fd holding an exclusive lock on ``path``, or None when another process holds it."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd


def unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        os.close(fd)  # closing the only fd releases the flock


def holder(path: Path) -> str:
    """The pid written by the lock's holder, for messages ("?" when unreadable)."""
    try:
        return path.read_text().strip() or "?"
    except OSError:
        return "?"


@contextlib.contextmanager
def daemon_lock(data_dir: Path) -> Iterator[None]:
    path = data_dir / "daemon.lock"
    fd = try_lock(path)
    if fd is None:
        raise DataDirBusy(
            f"another vibed daemon (pid {holder(path)}) already runs on the data directory {data_dir}: "
            "stop it, or give this one its own VIBED_DATA_DIR (or a shared DATABASE_URL)"
        )
    try:
        yield
    finally:
        unlock(fd)
