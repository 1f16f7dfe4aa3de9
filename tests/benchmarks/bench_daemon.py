"""What the outbox benchmarks share: a throwaway embedded PostgreSQL, and a quiet ``vibed run`` on it.

    with embedded_postgres("vibed-bench-push-") as (admin_dsn, workdir):
        dsn = on_database(admin_dsn, "push_bench")
        ...
        async with running_quiet_daemon(dsn, workdir, {"VIBED_PUSH_CONCURRENCY": "64"}) as (process, reader):
            ...

The daemon is a subprocess (``python -m vibed.cli run``) on an OS-chosen port, with no Redis, no Spotify, no
control secret, and a schedule that never fires (29 February at midnight, upstream unreachable): it only
drains what the benchmark queues.  The context returns once it logged ``daemon_ready`` and stops it on exit.
Not collected by pytest (``norecursedirs`` holds ``benchmarks``).
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from pathlib import Path

import trio

from tests.pg_support import reachable_by_the_cluster_user
from tests.pipeline_support import LineReader
from vibed.embedded.server import EmbeddedServer

ROOT = Path(__file__).resolve().parents[2]
NEVER = "0 0 29 2 *"  # a schedule that does not fire during a benchmark
UNREACHABLE = "http://127.0.0.1:9"  # the discard port: no upstream answers
UNSET = ("REDIS_URL", "SPOTIFY_CLIENT_ID", "SPOTIFY_CLIENT_SECRET", "JWT_SECRET", "DEBUG")


@contextlib.contextmanager
def embedded_postgres(prefix: str) -> Iterator[tuple[str, str]]:
    """A PostgreSQL of its own in a temporary folder: (its admin DSN, the folder, for the daemon's data)."""
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp:
        reachable_by_the_cluster_user(Path(tmp), Path(tmp))  # as root: the cluster's user must reach it
        server = EmbeddedServer(Path(tmp) / "pg")
        dsn = server.start_blocking()
        try:
            yield dsn, tmp
        finally:
            server.stop_blocking()


def on_database(admin_dsn: str, name: str) -> str:
    """The same server's DSN for the database ``name`` (the benchmark creates it)."""
    return admin_dsn.replace("/postgres?", f"/{name}?", 1)


@contextlib.asynccontextmanager
async def running_quiet_daemon(dsn: str, workdir: str, settings: Mapping[str, str],
                               python_args: Sequence[str] = ()) -> AsyncIterator[tuple[trio.Process, LineReader]]:
    """``vibed run`` on ``dsn`` with ``settings`` on top of the quiet ones, once ready; stopped on exit."""
    env = {**os.environ, "DATABASE_URL": dsn, "PORT": "0", "VIBED_HOST": "127.0.0.1",
           "JIOSAAVN_BASE_URL": UNREACHABLE, "VIBED_SCHEDULE": NEVER, "VIBED_DATA_DIR": workdir,
           "PYTHONPATH": str(ROOT), **settings}
    for name in UNSET:
        env.pop(name, None)
    process = await trio.lowlevel.open_process([sys.executable, *python_args, "-m", "vibed.cli", "run"], cwd=workdir,
                                               env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                               stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        reader = LineReader(process.stdout)
        while True:
            line = await reader.readline()
            if line is None:
                raise SystemExit("vibed exited:\n" + "\n".join(reader.lines[-20:]))
            if line.startswith("{") and json.loads(line)["event"] == "daemon_ready":
                break
        yield process, reader
    finally:
        process.terminate()
        with trio.move_on_after(10):
            await process.wait()
