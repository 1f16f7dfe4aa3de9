"""The embedded server's log file: kept bounded, and read for the reason the server ended."""

from __future__ import annotations

import os
import shutil
import signal
from pathlib import Path

LOG_CAP = 10 * 1024 * 1024  # bytes of postgres.log before it is moved to postgres.log.1


def bound_log(path: Path, cap: int = LOG_CAP) -> bool:
    """Keep ``path`` under ``cap`` bytes: copy it to ``<path>.1`` and truncate it in place.

    PostgreSQL writes with O_APPEND, so after the truncation its next line lands at offset 0
    (logrotate's copytruncate).  At most ``2 × cap`` plus what is written between two checks.
    """
    try:
        if path.stat().st_size <= cap:
            return False
        shutil.copyfile(path, path.with_name(path.name + ".1"))
        os.truncate(path, 0)
    except OSError:
        return False  # a log we cannot rotate is never a reason to stop the database
    return True


def exit_reason(returncode: int | None, logfile: Path, since: int = 0) -> str:
    """One line: how the server ended and the last FATAL/PANIC line of its log, if any."""
    if returncode is None:
        how = "the server (not our child) is gone"
    elif returncode < 0:
        how = f"killed by {signal.Signals(-returncode).name}"
    else:
        how = f"exited with code {returncode}"
    try:
        with open(logfile, "rb") as f:
            end = f.seek(0, os.SEEK_END)
            f.seek(max(0, end - 16384, since if since <= end else 0))  # only this server's lines
            tail = f.read().decode(errors="replace").splitlines()
    except OSError:
        tail = []
    # a backend's "unexpected postmaster exit" is a consequence, not the reason
    noise = ("unexpected postmaster exit", "not yet accepting connections", "is starting up")
    last = next((line for line in reversed(tail) if ("PANIC" in line or "FATAL" in line)
                 and not any(n in line for n in noise)), "")
    return f"{how}; log: {last.strip()[:300]}" if last else how
