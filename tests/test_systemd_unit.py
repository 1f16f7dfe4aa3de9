"""The shipped systemd unit passes `systemd-analyze verify` and says what the operations guide promises."""

from __future__ import annotations

import configparser
import shutil
import subprocess
from pathlib import Path

from tests.tools import require_tool

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "vibed.service"


def test_unit_verifies_cleanly():
    analyze = require_tool(shutil.which("systemd-analyze"), "needs systemd-analyze: apt-get install systemd")
    done = subprocess.run([analyze, "verify", str(UNIT)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


def test_unit_has_notify_watchdog_reload_and_hardening():
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # keys are case-sensitive in systemd
    parser.read(UNIT)
    service = parser["Service"]
    expected = {
        "Type": "notify", "NotifyAccess": "main", "WatchdogSec": "30s", "Restart": "on-failure",
        "ExecReload": "/bin/kill -HUP $MAINPID", "StateDirectory": "vibed", "EnvironmentFile": "-/etc/vibed/env",
        "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes",
        "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes",
        "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6", "RestrictNamespaces": "yes",
        "LockPersonality": "yes", "SystemCallArchitectures": "native", "SystemCallFilter": "@system-service",
    }
    for key, value in expected.items():
        assert service.get(key) == value, key
    stop = int(service["TimeoutStopSec"].rstrip("s"))
    grace = float(service["Environment"].split("=", 1)[1])
    assert stop > grace  # systemd waits longer than the daemon's own drain
    assert service["User"] and int(service["LimitNOFILE"]) >= 20000


def _size(value: str) -> int:
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
    return int(value[:-1]) * units[value[-1]] if value[-1] in units else int(value)


def test_both_units_cap_their_memory():
    for unit in (UNIT, UNIT.with_name("vibed@.service")):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str
        parser.read(unit)
        service = parser["Service"]
        assert "MemoryMax" in service, f"{unit.name} has no MemoryMax="
        high, top = _size(service["MemoryHigh"]), _size(service["MemoryMax"])
        assert 256 << 20 <= high < top <= 4 << 30, (unit.name, service["MemoryHigh"], service["MemoryMax"])
