"""Helpers for tests that drive ``vibed`` processes from plain (blocking) code."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port


def post(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body or {}).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read() or b"{}")


def get_json(url: str) -> dict:
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for_event(daemon: Daemon, name: str, timeout: float = 30, **fields: object) -> dict:
    """The daemon's first log line ``name`` with these fields, awaited (a ceiling, not a pause)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in daemon.events():
            if event["event"] == name and all(event.get(k) == v for k, v in fields.items()):
                return event
        time.sleep(0.05)
    raise AssertionError(f"no {name} {fields} within {timeout}s: {daemon.stdout()[-2000:]}")


class StreamReader(threading.Thread):
    """A plain SSE client on a blocking socket, collecting event ids."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        self.ids: list[int] = []
        self.answered = threading.Event()  # the response head arrived: subscribed to the stream
        self.closed = False

    def run(self) -> None:
        buffer = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.answered.set()
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                event_id = None
                for line in lines:
                    if line.startswith(b"id: "):
                        event_id = int(line[4:].strip())
                    elif line.startswith(b"event: new_release") and event_id is not None:
                        self.ids.append(event_id)
        except OSError:
            pass
        self.closed = True


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def event_ids(db_url: str, title_like: str = "%") -> list[int]:
    out = subprocess.run(
        [*VIBED[:1], "-c", "import asyncpg,asyncio,sys\n"
         "async def m():\n c=await asyncpg.connect(sys.argv[1])\n"
         " print([r[0] for r in await c.fetch(\"SELECT id FROM events WHERE kind='new_release'"
         " AND payload->>'title' LIKE $1 ORDER BY id\", sys.argv[2])])\n"
         " await c.close()\nasyncio.run(m())", db_url, title_like], capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)


def run_until_first_round(tmp_path, database: str, debug: str) -> list[dict]:
    env = clean_env(DATABASE_URL=database, PORT=str(free_port()), VIBED_HOST="127.0.0.1",
                    VIBED_SCHEDULE="0 0 1 1 *", VIBED_LANGUAGES="ml", DEBUG=debug)
    daemon = Daemon(tmp_path, env, ("run", "--simulate"))
    try:
        daemon.wait_healthy(timeout=30)
        deadline = time.monotonic() + 30
        while not any(e["event"] == "fetch_completed" for e in daemon.events()):
            assert time.monotonic() < deadline, daemon.stdout()[-2000:]
            time.sleep(0.1)
        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0, daemon.stderr()
        assert daemon.stderr() == ""
        return [json.loads(line) for line in daemon.stdout().splitlines()]
    finally:
        daemon.kill()
