"""Running ``vibed`` as a real subprocess, the way a user or systemd does."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

VIBED = [sys.executable, "-m", "vibed.cli"]
_PASS_THROUGH = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "XDG_RUNTIME_DIR")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    # COVERAGE_*: under `coverage run`, the daemons a test starts are measured too
    env = {k: v for k, v in os.environ.items() if k in _PASS_THROUGH or k.startswith("COVERAGE_")}
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    env.update(extra)
    return env


class Daemon:
    def __init__(self, cwd: Path, env: dict[str, str], args: tuple[str, ...] = ("run",),
                 prefix: tuple[str, ...] = (), command: tuple[str, ...] = tuple(VIBED)) -> None:
        self.port = int(env.get("PORT", "0"))
        stamp = time.monotonic_ns()
        self.out_path = cwd / f"stdout-{stamp}.log"
        self.err_path = cwd / f"stderr-{stamp}.log"
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen([*prefix, *command, *args], cwd=cwd, env=env, stdout=out, stderr=err)

    def health(self) -> tuple[int, dict[str, Any]] | None:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/health", timeout=2) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")
        except OSError:
            return None

    def wait_healthy(self, timeout: float) -> float:
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            answer = self.health()
            if answer is not None and answer[0] == 200:
                return time.monotonic() - start
            if self.proc.poll() is not None:
                raise AssertionError(f"daemon exited with {self.proc.returncode}: {self.stderr()}")
            time.sleep(0.1)
        raise AssertionError(f"no healthy answer within {timeout}s; stdout: {self.stdout()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> tuple[int, float]:
        start = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - start

    def stdout(self) -> str:
        return self.out_path.read_text(errors="replace")

    def stderr(self) -> str:
        return self.err_path.read_text(errors="replace")

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout().splitlines() if line.strip()]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self, timeout: float = 15) -> None:
        """Stop it as systemd does (SIGTERM, so a measured run keeps its coverage); SIGKILL past ``timeout``."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()


def postgres_pids(data_dir: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if cmdline and cmdline[0].endswith(b"postgres") and str(data_dir).encode() in b" ".join(cmdline):
            pids.append(int(proc.name))
    return pids
