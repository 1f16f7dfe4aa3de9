"""The ``vibed`` commands a person types: ``token``, ``status``, ``simulate``, ``migrate`` and ``run``'s
start-up failures; each answer on stdout, each error one line on stderr with a known exit code."""

from __future__ import annotations

import gc
import json
import signal
import socket
import subprocess
import time
import warnings

import attrs
import jwt
import pytest
import structlog
import trio

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from tests.daemon_proc import VIBED, Daemon, clean_env, free_port
from vibed.cli import main
from vibed.cli.status import render_status
from vibed.health import (
    ActorHealth,
    BucketHealth,
    BusHealth,
    DeliveryHealth,
    HealthReport,
    PipelineHealth,
    PollingPlan,
    RoundSummary,
    ScopeReport,
    SourceHealth,
    StreamsHealth,
)
from vibed.health.render import from_json, to_json

SECRET = "0123456789abcdef0123456789abcdef-test-secret"  # 44 bytes


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """``main`` in this process, in an empty directory, with the test's logging put back afterwards."""
    monkeypatch.chdir(tmp_path)
    for name in ("JWT_SECRET", "PORT", "VIBED_JWT_MAX_TTL", "VIBED_JWT_AUDIENCE", "DATABASE_URL"):
        monkeypatch.delenv(name, raising=False)
    saved = structlog.get_config()
    yield main
    structlog.configure(**saved)


def test_token_prints_a_jwt_the_daemon_accepts(cli, monkeypatch, capsys):
    monkeypatch.setenv("JWT_SECRET", SECRET)
    monkeypatch.setenv("VIBED_JWT_AUDIENCE", "vibed-ci")
    assert cli(["token", "--ttl", "15m", "--subject", "ci"]) == 0
    out, err = capsys.readouterr()
    assert err == "" and out.count("\n") == 1
    claims = jwt.decode(out.strip(), SECRET, algorithms=["HS256"], audience="vibed-ci")
    assert claims["sub"] == "ci" and claims["exp"] - claims["iat"] == 900


@pytest.mark.parametrize(("env", "args", "line"), [
    ({}, ["--ttl", "1h"], "vibed: JWT_SECRET is not set: set it (in the environment or .env) to issue tokens"),
    ({"JWT_SECRET": SECRET}, ["--ttl", "soon"],
     "vibed: --ttl 'soon' is not a duration: use e.g. 30s, 15m, 1h or 1d"),
    ({"JWT_SECRET": SECRET, "VIBED_JWT_MAX_TTL": "1h"}, ["--ttl", "2h"],
     "vibed: --ttl '2h' is longer than VIBED_JWT_MAX_TTL (3600 s): the daemon would refuse the token; ask for "
     "less or raise VIBED_JWT_MAX_TTL"),
])
def test_token_refuses_with_one_line_and_exit_2(cli, monkeypatch, capsys, env, args, line):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert cli(["token", *args]) == 2
    assert capsys.readouterr() == ("", line + "\n")


def test_the_token_command_as_a_process(tmp_path):
    done = subprocess.run([*VIBED, "token", "--ttl", "90s"], cwd=tmp_path, env=clean_env(JWT_SECRET=SECRET),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stderr == ""
    claims = jwt.decode(done.stdout.strip(), SECRET, algorithms=["HS256"], audience="vibed")
    assert claims["sub"] == "operator" and claims["exp"] - claims["iat"] == 90


async def test_status_json_prints_the_daemons_health_as_it_is(cli, monkeypatch, capsys, db_url, sim_url):
    async with running_daemon(api_config(db_url, jiosaavn_base_url=sim_url, languages="ml")) as daemon:
        monkeypatch.setenv("PORT", str(daemon.port))
        code = await trio.to_thread.run_sync(cli, ["status", "--json"])
    out, err = capsys.readouterr()
    # the in-process daemon's own log lines share stdout here; the command's answer is the indented JSON
    health = json.loads("\n".join(line for line in out.splitlines() if not line.startswith('{"')))
    assert (code, err, health.get("reasons")) == (0, "", []), health
    assert health["status"] == "ok" and health["database"]["reachable"] is True
    assert set(health["sources"]) == {"jiosaavn"}


def _report(**changes: object) -> HealthReport:
    return attrs.evolve(HealthReport(version="0.1.0", role="all", uptime_s=60.0, database_reachable=True,
                                     embedded=False, actors={}), **changes)


def test_status_of_a_degraded_daemon_reads_as_a_summary():
    report = _report(
        role="fetch", uptime_s=93784.0, embedded=True,
        delivery=DeliveryHealth(BusHealth("redis", "degraded"), StreamsHealth(3, 1, 0, 0, 7)),
        pipeline=PipelineHealth(
            buckets={"spotify": BucketHealth(0, 100, 4.5), "jiosaavn": BucketHealth(998.5, 1000, None)},
            rounds=12, last_round=RoundSummary("r-12", "cron", 6, 2), polling=PollingPlan("cron", next_round="2026-11-29T09:20:00Z"), last_fetch_age_s=90.0,
            stale_after_s=3600.0,
            sources={"spotify": SourceHealth(False, {}), "jiosaavn": SourceHealth(True, {
                "hi": ScopeReport("backing_off", "2026-11-29T08:00:00Z", 3, "2026-11-29T09:10:00Z", "status 500", 0),
                "ml": ScopeReport("ok", None, 0, None, None, 0)})}),
        actors={"writer": ActorHealth("running", 0, None), "fetcher-2": ActorHealth("restarting", 2, "boom")},
    )
    text = render_status(from_json(to_json(report)))  # as `vibed status` reads it
    assert text.splitlines() == [
        "vibed 0.1.0: DEGRADED   up 1d 2h   role fetch",
        "reason     actor fetcher-2: restarting",
        "reason     bus: degraded",
        "reason     bucket spotify: empty (0 of 100 tokens; the next token in 4.5 s)",
        "reason     jiosaavn/hi: failed 3 runs in a row (status 500)",
        "reason     spotify: gone for this account (new-releases answered 403/404)",
        "database   reachable (embedded)",
        "bus        redis: degraded",
        "clients    4 connected (3 SSE, 1 WebSocket)",
        "bucket     jiosaavn: 998.5 of 1000 tokens",
        "bucket     spotify: 0 of 100 tokens, next in 4.5s",
        "fetched    1m 30s ago (any process)",
        "rounds     12; last r-12 (cron): 6 requests, 2 new",
        "source     jiosaavn: available",
        "  hi     backing_off  last success 2026-11-29 08:00:00 UTC, backing off until 2026-11-29 09:10:00 UTC, "
        "3 failures (status 500)",
        "  ml     ok           last success never",
        "source     spotify: UNAVAILABLE (gone for this account)",
        "actor      fetcher-2: restarting, 2 restarts (boom)",
    ]
    assert from_json(to_json(report)) == report, "the JSON carries the whole record"


@pytest.mark.parametrize(("seconds", "shown"), [(59.9, "0m 59s"), (3661, "1h 1m"), (86400, "1d 0h")])
def test_status_uptime_reads_in_the_largest_units(seconds, shown):
    first = render_status(_report(uptime_s=seconds)).splitlines()[0]
    assert first == f"vibed 0.1.0: OK   up {shown}   role all"
    unavailable = _report(database_reachable=False)
    assert render_status(unavailable).splitlines()[1:3] == ["reason     database: not answering",
                                                             "database   UNREACHABLE (external)"]


@pytest.mark.parametrize(("args", "message"), [
    (["--trace-speed", "0"], "vibed: --trace-speed must be above 0, not 0"),
    (["--trace-speed", "60", "--trace-start", "Friday"],
     "vibed: --trace-start 'Friday' is not ISO 8601, e.g. 2026-11-26T12:00+05:30"),
])
def test_simulate_refuses_a_bad_trace_with_one_line(cli, args, message):
    with pytest.raises(SystemExit) as caught:
        cli(["simulate", *args])
    assert str(caught.value.code) == message


def test_simulate_on_a_port_in_use_is_one_line_and_exit_1(cli, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli(["simulate", "--port", str(port)]) == 1
    with warnings.catch_warnings():  # hypercorn leaves the socket of its failed bind to the collector
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    assert capsys.readouterr().err == (f"vibed: cannot serve the simulator on 127.0.0.1:{port}: "
                                       "Address already in use\n")


def test_simulate_in_trace_mode_logs_the_clock_to_give_vibed_and_ctrl_c_ends_it_quietly(tmp_path):
    port = free_port()
    sim = Daemon(tmp_path, clean_env(), ("simulate", "--port", str(port), "--seed", "7", "--trace-speed", "60",
                                         "--trace-start", "2026-11-27T12:00", "--trace-languages", "ml, hi"))
    try:
        deadline = time.monotonic() + 20
        while not any(e["event"] == "simulator_trace" for e in sim.events()):
            assert sim.proc.poll() is None and time.monotonic() < deadline, sim.stderr()
            time.sleep(0.05)
        code, _ = sim.stop(signal.SIGINT)
    finally:
        sim.kill()
    assert code == 0 and sim.stderr() == ""
    started, trace = [e for e in sim.events() if e["event"] in ("simulator_started", "simulator_trace")]
    assert started["url"] == f"http://127.0.0.1:{port}"
    assert trace["speed"] == 60 and trace["releases"] > 0
    wall, start, speed = trace["trace_clock"].split(",")
    assert start == "1795780800.000" and speed == "60"  # 2026-11-27 12:00 UTC, naive = UTC
    assert abs(float(wall) - time.time()) < 60


def test_migrate_against_an_unreachable_database_is_one_line_and_exit_1(tmp_path):
    dead = free_port()
    done = subprocess.run([*VIBED, "migrate"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=clean_env(DATABASE_URL=f"postgresql://vibed:pw@127.0.0.1:{dead}/vibed",
                                        VIBED_DB_CONNECT_ATTEMPTS="1"))
    assert done.returncode == 1
    assert done.stderr == (f"vibed: cannot reach the database at postgresql://vibed:***@127.0.0.1:{dead}/vibed after "
                           f"1 attempt: [Errno 111] Connect call failed ('127.0.0.1', {dead}) (check DATABASE_URL, "
                           "or unset it to use the embedded PostgreSQL)\n")


def test_run_on_a_data_dir_that_is_a_file_is_one_line_naming_the_path(tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    done = subprocess.run([*VIBED, "run"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                          env=clean_env(VIBED_DATA_DIR=str(blocker / "data"), PORT=str(free_port())))
    assert done.returncode == 1
    assert done.stderr == f"vibed: Not a directory ({blocker / 'data'})\n"


async def test_bucket_set_of_an_unknown_service_names_the_command_that_lists_them(cli, monkeypatch, capsys, db_url):
    monkeypatch.setenv("DATABASE_URL", db_url)
    code = await trio.to_thread.run_sync(cli, ["bucket", "set", "deezer", "--max", "5"])
    assert code == 2
    assert capsys.readouterr().err.splitlines()[-1] == (
        "vibed: no rate_limit_tokens row for service 'deezer': `vibed bucket show` lists the services")


def test_bucket_show_on_an_unreachable_database_is_one_line_and_exit_1(cli, monkeypatch, capsys):
    dead = free_port()
    monkeypatch.setenv("DATABASE_URL", f"postgresql://vibed:pw@127.0.0.1:{dead}/vibed")
    assert cli(["bucket", "show"]) == 1
    out, err = capsys.readouterr()
    assert out == ""
    assert err.splitlines()[-1].startswith(
        f"vibed: cannot reach the database at postgresql://vibed:***@127.0.0.1:{dead}/vibed after 3 attempts: ")
    assert "pw@" not in err
