"""Who may connect to the embedded PostgreSQL: the OS user running vibed, by peer credentials.

The server listens on a unix socket only.  ``pg_hba.conf`` has one rule, ``local all all peer
map=vibed``; ``pg_ident.conf``'s ``vibed`` map lets exactly the current OS user (``root`` when
vibed runs as root and the cluster as ``vibed-postgres``) in as ``postgres``.  Another local user
who reaches the socket is refused ("Peer authentication failed"); no password exists to leak.

Both files are rewritten before every start, so a cluster that an older vibed initialised with
``trust`` is upgraded on its next start (``write_auth`` says whether anything changed).
"""

from __future__ import annotations

import os
import pwd
import shutil
from pathlib import Path

MAP = "vibed"


def hba_text() -> str:
    return ("# written by vibed at every start: unix socket only, peer credentials through the vibed map\n"
            f"local all all peer map={MAP}\n")


def ident_text(os_user: str) -> str:
    return f"# written by vibed at every start: the OS user running vibed connects as postgres\n{MAP} {os_user} postgres\n"


def current_os_user() -> str:
    return pwd.getpwuid(os.geteuid()).pw_name


def _write(path: Path, text: str, owner: str | None) -> bool:
    try:
        if path.read_text(encoding="utf-8") == text:
            return False
    except FileNotFoundError:
        pass
    staging = path.with_name(path.name + ".vibed-new")
    fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    if owner is not None:
        shutil.chown(staging, owner, owner)
    os.replace(staging, path)
    return True


def write_auth(pgdata: Path, owner: str | None) -> bool:
    """Make ``pgdata``'s pg_hba.conf and pg_ident.conf say peer-for-us-only; True when either changed."""
    hba = _write(pgdata / "pg_hba.conf", hba_text(), owner)
    ident = _write(pgdata / "pg_ident.conf", ident_text(current_os_user()), owner)
    return hba or ident
