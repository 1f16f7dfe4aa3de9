"""Helpers for the tests that drive the live page in Debian's headless Chromium (Playwright's sync API)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

from tests.daemon_proc import clean_env
from tests.tools import require_tool

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def page_env(port: int, db_url: str, simulator: str, languages: str) -> dict[str, str]:
    """A daemon on loopback for a browser: the test's database and simulator, no scheduled rounds."""
    return clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=db_url, JIOSAAVN_BASE_URL=simulator,
                     VIBED_LANGUAGES=languages, VIBED_SCHEDULE="0 0 1 1 *")


@contextlib.contextmanager
def chromium() -> Iterator[Any]:
    """A launched headless Chromium (a skip with the install command when it is missing, a failure on CI)."""
    executable = require_tool(CHROMIUM, "needs Debian's chromium: apt-get install chromium")
    from playwright import sync_api  # in the test extras

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


class CuttableLink:
    """A loopback TCP relay in front of the daemon whose network can drop: ``cut()`` ends every connection
    through it and refuses new ones (a reset) until ``restore()``; the daemon itself never notices."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self.lock = threading.Lock()
        self.open: set[socket.socket] = set()
        self.frozen: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            if not self.up:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # RST
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target_port), timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self.lock:
                self.open.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                if source not in self.frozen:  # a frozen connection's bytes vanish: neither end hears a thing
                    sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):  # one side ended: end both (the other pump then closes its own source)
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        source.close()

    def cut(self) -> None:
        self.up = False
        with self.lock:
            cut, self.open = self.open, set()
        for s in cut:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes its pump, which closes the pair

    def freeze(self) -> None:
        """The connections open now go silent without closing, as when a laptop sleeps or a router forgets
        them; new connections work (the network came back)."""
        with self.lock:
            self.frozen |= self.open
            self.open = set()

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        with self.lock:
            self.open |= self.frozen
        self.cut()
        self.listener.close()
