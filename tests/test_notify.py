"""sd_notify against a real unix datagram socket standing in for systemd's."""

from __future__ import annotations

import signal
import socket
import time

import trio

from tests.daemon_proc import Daemon, clean_env, free_port
from vibed.notify import Notifier


class FakeSystemd:
    """What systemd does with NOTIFY_SOCKET: a datagram socket it reads messages from."""

    def __init__(self, path) -> None:
        self.path = str(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(self.path)
        self.sock.settimeout(0.2)
        self.messages: list[dict[str, str]] = []

    def drain(self) -> list[dict[str, str]]:
        while True:
            try:
                data = self.sock.recv(4096)
            except (TimeoutError, BlockingIOError):
                return self.messages
            self.messages.append(dict(line.split("=", 1) for line in data.decode().splitlines()))

    def wait_for(self, key: str, timeout: float, after: int = 0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for i, message in enumerate(self.drain()[after:], start=after):
                if key in message:
                    return i
        raise AssertionError(f"no {key} within {timeout}s; got {self.messages}")

    def close(self) -> None:
        self.sock.close()


def test_ready_status_watchdog_reload_and_stopping(tmp_path, pg_server):
    systemd = FakeSystemd(tmp_path / "notify.sock")
    port = free_port()
    env = clean_env(PORT=str(port), DATABASE_URL=pg_server, NOTIFY_SOCKET=systemd.path,
                    WATCHDOG_USEC="1000000", VIBED_HOST="127.0.0.1")
    daemon = Daemon(tmp_path, env)
    try:
        ready = systemd.wait_for("READY", timeout=30)
        # READY=1 only once HTTP listens and the database answers: health must already be 200
        assert daemon.health()[0] == 200
        message = systemd.messages[ready]
        assert message["STATUS"].startswith("watching ml,hi,ta")
        assert int(message["MAINPID"]) == daemon.proc.pid
        first = systemd.wait_for("WATCHDOG", timeout=5, after=ready)
        second = systemd.wait_for("WATCHDOG", timeout=5, after=first + 1)
        assert second > first

        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "vibed.toml").write_text('languages = ["ml", "te"]\n')
        daemon.proc.send_signal(signal.SIGHUP)
        reloading = systemd.wait_for("RELOADING", timeout=10, after=second)
        ready_again = systemd.wait_for("READY", timeout=10, after=reloading)
        assert systemd.messages[ready_again]["STATUS"].startswith("watching ml,te")

        code, _ = daemon.stop(signal.SIGTERM)
        assert code == 0
        systemd.wait_for("STOPPING", timeout=5, after=ready_again)
    finally:
        daemon.kill()
        systemd.close()
    reloaded = [e for e in daemon.events() if e["event"] == "config_reloaded"]
    assert reloaded and "languages" in reloaded[0]["changed"]


def test_invalid_reload_is_refused_and_the_old_configuration_stays(tmp_path, pg_server):
    port = free_port()
    daemon = Daemon(tmp_path, clean_env(PORT=str(port), DATABASE_URL=pg_server, VIBED_HOST="127.0.0.1"))
    try:
        daemon.wait_healthy(timeout=30)
        (tmp_path / "config").mkdir()
        (tmp_path / "config" / "vibed.toml").write_text('languages = ["ml", "klingon"]\n')
        daemon.proc.send_signal(signal.SIGHUP)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if any(e["event"] == "config_reload_failed" for e in daemon.events()):
                break
            time.sleep(0.1)
        failed = [e for e in daemon.events() if e["event"] == "config_reload_failed"]
        assert failed and "unknown language code 'klingon'" in failed[0]["error"]
        assert daemon.health()[0] == 200  # still serving, on the old configuration
        assert daemon.stop()[0] == 0
    finally:
        daemon.kill()


async def test_watchdog_is_withheld_while_the_database_does_not_answer(tmp_path, autojump_clock):
    path = str(tmp_path / "wd.sock")
    receiver = trio.socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    await receiver.bind(path)
    notifier = Notifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000000"})
    healthy = True

    async def ping() -> bool:
        return healthy

    got: list[tuple[float, bytes]] = []

    async def collect() -> None:
        while True:
            got.append((trio.current_time(), await receiver.recv(100)))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(collect)
        await nursery.start(notifier.serve_watchdog, ping)
        await trio.sleep(16)  # fed at 5 s, 10 s, 15 s
        fed_while_healthy = len(got)
        healthy = False
        await trio.sleep(30)
        fed_while_down = len(got) - fed_while_healthy
        healthy = True
        await trio.sleep(6)
        nursery.cancel_scope.cancel()
    receiver.close()
    notifier.close()
    assert fed_while_healthy == 3
    assert fed_while_down == 0
    assert got[-1][1] == b"WATCHDOG=1"
