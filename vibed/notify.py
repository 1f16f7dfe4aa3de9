"""sd_notify: tell systemd we are ready, how we are, that we are alive, reloading, stopping.

The protocol is one datagram per message to the unix socket named by ``NOTIFY_SOCKET``
(``@`` = the abstract namespace).  Without the variable every call is a no-op, so the
daemon behaves the same outside systemd.

The watchdog is fed at half of ``WATCHDOG_USEC`` only while the event loop is responsive
*and* the database answers a ping: a wedged daemon stops feeding and systemd restarts it.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Awaitable, Callable

import trio
import trio.lowlevel

from vibed.logs import get_logger

log = get_logger("vibed.notify")
LOOP_LAG_LIMIT = 5.0  # seconds a 0-second sleep may take before we call the loop wedged


class Notifier:
    def __init__(self, environ: dict[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET") or None
        usec = env.get("WATCHDOG_USEC")
        pid = env.get("WATCHDOG_PID")
        self.watchdog_s: float | None = None
        if usec and usec.isdigit() and (pid is None or pid == str(os.getpid())):
            self.watchdog_s = int(usec) / 1_000_000
        self._sock: socket.socket | None = None

    @property
    def enabled(self) -> bool:
        return self.address is not None

    def send(self, *fields: str) -> None:
        if self.address is None:
            return
        target = "\0" + self.address[1:] if self.address.startswith("@") else self.address
        try:
            if self._sock is None:
                self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            self._sock.sendto("\n".join(fields).encode(), target)
        except OSError as exc:  # systemd gone or socket full: never fatal to the daemon
            log.warning("notify_failed", error=str(exc))

    def ready(self, status: str) -> None:
        self.send("READY=1", f"STATUS={status}", f"MAINPID={os.getpid()}")

    def status(self, status: str) -> None:
        self.send(f"STATUS={status}")

    def reloading(self) -> None:
        # systemd >= 253 wants MONOTONIC_USEC with RELOADING=1 (Type=notify-reload); harmless before
        usec = _monotonic_usec()
        self.send("RELOADING=1", f"MONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self.send("STOPPING=1")

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    async def serve_watchdog(self, ping: Callable[[], Awaitable[bool]],
                             *, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Feed the watchdog every half period while the loop and the database are healthy."""
        task_status.started()
        if self.watchdog_s is None or not self.enabled:
            return
        period = self.watchdog_s / 2
        while True:
            await trio.sleep(period)
            before = trio.current_time()
            await trio.lowlevel.checkpoint()
            lag = trio.current_time() - before
            db_ok = await ping()
            if lag < LOOP_LAG_LIMIT and db_ok:
                self.send("WATCHDOG=1")
            else:
                log.error("watchdog_withheld", loop_lag_s=round(lag, 3), database=db_ok)


def _monotonic_usec() -> int:
    import time

    return int(time.clock_gettime(time.CLOCK_MONOTONIC) * 1_000_000)
