"""The package as the README installs it (``pip install /path/to/vibed``, not editable): it migrates and runs.

The wheel is built from a copy of the source (so the build leaves nothing in the repository), offline,
installed with ``--no-deps`` into a fresh venv whose only other path is this venv's
site-packages (the dependencies, offline; no editable hook, since ``.pth`` files of an added
path are not run).  Then ``vibed migrate`` on an empty data directory, and ``vibed run`` to a
healthy ``/api/health``, from a directory that is not the repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.daemon_proc import Daemon, free_port
from vibed.store.migrations import MigrationsMissing, load_migrations

REPO = Path(__file__).resolve().parents[1]


def _build_wheel(tmp: Path) -> Path:
    source = tmp / "source"
    shutil.copytree(REPO / "vibed", source / "vibed", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    # offline: the build backend is this venv's setuptools (a test dependency), not one fetched for the build
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--no-index",
                    "-w", str(tmp / "dist"), str(source)], check=True, capture_output=True, timeout=300)
    return next((tmp / "dist").glob("vibed-*.whl"))


def _fresh_venv(tmp: Path, wheel: Path) -> Path:
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True, timeout=300)
    site = Path(subprocess.run([str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return venv


def _env(**extra: str) -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_RUNTIME_DIR")
    return {**{k: v for k, v in os.environ.items() if k in keep}, **extra}  # no PYTHONPATH: the wheel only


def test_a_schema_directory_without_migrations_is_an_error_not_up_to_date(tmp_path) -> None:
    with pytest.raises(MigrationsMissing, match="holds no NNNN_name.sql migration"):
        load_migrations(tmp_path)
    with pytest.raises(MigrationsMissing, match="does not exist"):
        load_migrations(tmp_path / "missing")


def test_the_installed_wheel_migrates_an_empty_database_and_runs_healthy(tmp_path, data_dir) -> None:
    venv = _fresh_venv(tmp_path, _build_wheel(tmp_path))
    vibed = venv / "bin" / "vibed"
    work = tmp_path / "elsewhere"
    work.mkdir()
    where = subprocess.run([str(venv / "bin" / "python"), "-c", "import vibed; print(vibed.__file__)"], cwd=work,
                           env=_env(), capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(venv)), where
    installed = Path(where).parent / "schema"
    assert sorted(p.name for p in installed.glob("*.sql")) == [m.name for m in load_migrations()]

    # an install that lost its schema says so in one line and fails, and migrates nothing
    shutil.move(installed, tmp_path / "schema-aside")
    env = _env(VIBED_DATA_DIR=str(data_dir))
    broken = subprocess.run([str(vibed), "migrate"], cwd=work, env=env, capture_output=True, text=True, timeout=180)
    assert broken.returncode == 1, broken.stdout[-2000:]
    assert broken.stderr.count("\n") == 1 and "schema directory" in broken.stderr and "reinstall" in broken.stderr
    assert "migrations_done" not in broken.stdout
    shutil.move(tmp_path / "schema-aside", installed)

    done = subprocess.run([str(vibed), "migrate"], cwd=work, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    applied = [line for line in done.stdout.splitlines() if '"migration_applied"' in line]
    assert len(applied) == len(load_migrations()) and "migrations_done" in done.stdout

    daemon = Daemon(work, _env(VIBED_DATA_DIR=str(data_dir), PORT=str(free_port()), VIBED_HOST="127.0.0.1"),
                    command=(str(vibed),))
    try:
        daemon.wait_healthy(timeout=90)
        code, body = daemon.health()
        assert body["status"] == "ok" and body["database"]["reachable"]
        assert daemon.stop(timeout=60)[0] == 0
    finally:
        daemon.kill()
    assert daemon.stderr() == ""
