"""Where the embedded server's unix socket lives, and which directory may hold it.

In the cluster directory when the socket's path fits (107 bytes); otherwise in a fresh
directory made by ``mkdtemp``: a random name, mode 0700, created by this ``mkdir`` and never
one that existed before.  (The old fallback was a predictable ``/tmp/vibed-pg-<hash>`` made with
``exist_ok``: a local user could make it first, 0777 or a symlink, and connect as the superuser.)

``private_dir`` is the check every socket directory passes before use, a live server's too:
a real directory (``lstat``: no symlink followed), owned by the cluster's user, no rights for
group or others.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

from vibed.embedded.errors import EmbeddedPostgresError
from vibed.embedded.root import log_owner_set

PORT = 5432  # on a private unix socket, so the number never collides


def preferred_socket_dir(pgdata: Path) -> Path | None:
    """The cluster directory when a socket path in it fits (107 bytes), else None (a fresh one is made)."""
    return pgdata if len(str(pgdata / f".s.PGSQL.{PORT}")) < 100 else None


def private_dir(path: Path, uid: int) -> Path:
    """``path`` when it is a directory (not a symlink) owned by ``uid`` with mode 0700 or less, else raise."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise EmbeddedPostgresError(f"the embedded PostgreSQL's socket directory {path} is gone") from None
    problem = None
    if stat.S_ISLNK(st.st_mode):
        problem = "a symlink"
    elif not stat.S_ISDIR(st.st_mode):
        problem = "not a directory"
    elif st.st_uid != uid:
        problem = f"owned by uid {st.st_uid}, not {uid}"
    elif st.st_mode & 0o077:
        problem = f"mode {stat.S_IMODE(st.st_mode):04o}, open to other users"
    if problem:
        raise EmbeddedPostgresError(
            f"the embedded PostgreSQL's socket directory {path} is {problem}: refusing it (another user may "
            "have made it to listen in); remove it, and start vibed again")
    return path


def fresh_socket_dir(user: str | None) -> Path:
    """A new directory of random name, made 0700 by mkdir (never one that existed before)."""
    made = Path(tempfile.mkdtemp(prefix="vibed-pg-"))
    if user is not None:
        shutil.chown(made, user, user)  # ours since mkdir, 0700 in sticky /tmp: nobody can swap it
        log_owner_set(made, user)
    return made
