"""The unit's own ExecStart and ExecReload, run as systemd would: a reload reads the TOML and the env file again."""

from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest
from dotenv import dotenv_values

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port
from tests.tools import require_tool

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "vibed.service"


def unit_service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNIT)
    return parser["Service"]


def test_unit_reads_etc_vibed_toml_and_env():
    service = unit_service()
    start = shlex.split(service["ExecStart"])
    assert start[:3] == ["/usr/bin/env", "vibed", "run"]
    assert start[start.index("--config") + 1] == "/etc/vibed/vibed.toml"
    assert start[start.index("--env-file") + 1] == "/etc/vibed/env"
    assert service["EnvironmentFile"] == "-/etc/vibed/env"


def wait_for(daemon: Daemon, event: str, after: int, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in daemon.events()[after:] if e["event"] == event]
        if found:
            return found[0]
        time.sleep(0.05)
    raise AssertionError(f"no {event} within {timeout}s: {daemon.stdout()[-1500:]}")


def test_exec_reload_rereads_the_toml_and_the_env_file(tmp_path, fresh_db_url):
    service = unit_service()
    etc = tmp_path / "etc"
    etc.mkdir()
    toml, env_file = etc / "vibed.toml", etc / "env"
    toml.write_text('languages = ["ml"]\nschedule = "0 0 1 1 *"\n')
    port = free_port()
    env_file.write_text(f"DATABASE_URL={fresh_db_url}\nPORT={port}\nVIBED_HOST=127.0.0.1\nVIBED_PAGE_CAP=2\n")

    # what systemd does: EnvironmentFile= and Environment= into the environment, then ExecStart
    env = clean_env(**{k: v for k, v in dotenv_values(env_file).items() if v is not None})
    env.update(dict([service["Environment"].split("=", 1)]))
    start = shlex.split(service["ExecStart"].replace("/etc/vibed/", f"{etc}/"))
    assert start[:2] == ["/usr/bin/env", "vibed"]
    daemon = Daemon(tmp_path, env, tuple(start[2:]))
    try:
        daemon.wait_healthy(timeout=30)
        assert daemon.proc.args == [*VIBED, *start[2:]]

        toml.write_text('languages = ["ml", "hi"]\nschedule = "0 0 1 1 *"\n')
        env_file.write_text(env_file.read_text().replace("VIBED_PAGE_CAP=2", "VIBED_PAGE_CAP=4"))
        seen = len(daemon.events())
        reload = service["ExecReload"].replace("$MAINPID", str(daemon.proc.pid))
        assert subprocess.run(shlex.split(reload), timeout=10).returncode == 0
        reloaded = wait_for(daemon, "config_reloaded", seen)
        assert set(reloaded["changed"].split(",")) == {"languages", "page_cap"}
        assert reloaded["needs_restart"] is None
        assert daemon.health()[1]["status"] == "ok"

        # the edge's settings apply at once; what is built into the running daemon (the listening
        # socket) is named as needing a restart, and the running value stays
        env_file.write_text(env_file.read_text().replace(f"PORT={port}", f"PORT={free_port()}")
                            + "VIBED_CORS_ORIGINS=https://music.example.org\n")
        seen = len(daemon.events())
        subprocess.run(shlex.split(reload), timeout=10, check=True)
        later = wait_for(daemon, "config_reloaded", seen)
        assert (later["changed"], later["needs_restart"]) == ("cors_origins", "port")
        assert daemon.health()[0] == 200
        asked = urllib.request.Request(f"http://127.0.0.1:{port}/api/new-releases",
                                       headers={"Origin": "https://music.example.org"})
        with urllib.request.urlopen(asked, timeout=5) as answer:
            assert answer.headers["Access-Control-Allow-Origin"] == "https://music.example.org"
        code, _ = daemon.stop()
        assert code == 0
    finally:
        daemon.kill()


@pytest.mark.parametrize("role", ["fetch", "serve"])
def test_the_role_template_verifies_and_runs_its_role(tmp_path, role):
    template = UNIT.with_name("vibed@.service")
    instance = tmp_path / f"vibed@{role}.service"
    instance.write_text(template.read_text())
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(template)
    start = shlex.split(parser["Service"]["ExecStart"])
    assert start[start.index("--role") + 1] == "%i"
    assert start[start.index("--config") + 1] == "/etc/vibed/vibed.toml"
    analyze = require_tool(shutil.which("systemd-analyze"), "needs systemd-analyze: apt-get install systemd")
    done = subprocess.run([analyze, "verify", str(instance)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr.strip() == "", done.stderr
