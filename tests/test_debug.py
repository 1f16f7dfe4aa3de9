"""``DEBUG`` in the ``debug`` module's syntax: the grammar, and a real daemon printing what it asks for."""

from __future__ import annotations

import pytest

from tests.process_support import run_until_first_round
from vibed.logs.debug import parse_debug


@pytest.mark.parametrize(
    ("value", "on", "off"),
    [
        ("worker:*", ["worker:fetcher", "worker:scheduler", "worker:writer"], ["http", "store", "stream"]),
        ("worker:fetcher", ["worker:fetcher"], ["worker:scheduler", "http"]),
        ("worker:*,-worker:writer", ["worker:fetcher"], ["worker:writer"]),
        ("http stream", ["http", "stream"], ["worker:fetcher"]),
        ("http,  store ,", ["http", "store"], ["stream"]),
        ("*", ["worker:fetcher", "http", "stream", "store", "daemon"], []),
        ("*,-http,-worker:*", ["stream", "store"], ["http", "worker:fetcher"]),
        ("server:*,worker:*", ["http", "stream", "worker:writer"], ["store"]),  # the guide's two processes
        ("express:*", ["http"], ["worker:fetcher"]),
        ("true", ["worker:fetcher", "store"], []),
    ],
)
def test_namespaces_wildcards_and_exclusions(value, on, off):
    spec = parse_debug(value)
    assert spec and spec.unknown == ()
    assert all(spec.enabled(ns) for ns in on), [ns for ns in on if not spec.enabled(ns)]
    assert not any(spec.enabled(ns) for ns in off), [ns for ns in off if spec.enabled(ns)]


def test_library_loggers_only_when_named():
    assert parse_debug("*").libraries == ()
    assert parse_debug("worker:*,httpx,asyncpg.pool").libraries == ("httpx", "asyncpg.pool")


@pytest.mark.parametrize("value", ["", "0", "false", "off", "no"])
def test_empty_zero_false_off_and_no_turn_debug_off(value):
    assert not parse_debug(value)


def test_unknown_names_are_kept_for_one_warning_and_the_rest_still_works():
    spec = parse_debug("worker:*,wrker:fetch,-nosuch")
    assert spec.unknown == ("wrker:fetch", "-nosuch")
    assert spec.enabled("worker:fetcher")


def debug_sources(events: list[dict]) -> set[str]:
    """Who spoke below warning: "vibed", or a library logger's top-level name."""
    return {e.get("logger", "vibed").split(".")[0] for e in events if e["level"] in ("debug", "info")
            and (e["level"] == "debug" or "logger" in e)}


def test_a_daemon_prints_the_debug_lines_asked_for_and_warns_once_about_an_unknown_name(tmp_path, fresh_db_url):
    events = run_until_first_round(tmp_path, fresh_db_url, "worker:*,-worker:scheduler,nosuch:*")
    warnings = [e for e in events if e["event"] == "debug_namespace_unknown"]
    assert len(warnings) == 1 and warnings[0]["names"] == "nosuch:*"
    debug = [e for e in events if e["level"] == "debug"]
    assert {e["event"] for e in debug} >= {"fetch_page_requested"}  # worker:fetcher
    assert "round_planned" not in {e["event"] for e in debug}  # worker:scheduler left out
    assert debug_sources(events) == {"vibed"}  # no library noise unless named


def test_a_library_logger_prints_only_when_named(tmp_path, fresh_db_url):
    events = run_until_first_round(tmp_path, fresh_db_url, "httpx,httpcore")
    assert debug_sources(events) == {"httpx", "httpcore"}  # and no vibed debug line
    assert any("api.php" in e["message"] for e in events if e.get("logger") == "httpx")


def _http_side_debug(tmp_path, database: str, debug: str) -> list[dict]:
    """A daemon under ``DEBUG=debug``: one API request, one SSE stream opened and closed; its debug lines."""
    import signal
    import socket
    import time
    import urllib.request

    from tests.daemon_proc import Daemon, clean_env, free_port

    port = free_port()
    daemon = Daemon(tmp_path, clean_env(DATABASE_URL=database, PORT=str(port), VIBED_HOST="127.0.0.1",
                                        VIBED_SCHEDULE="0 0 1 1 *", VIBED_POLLING="cron", DEBUG=debug))
    try:
        daemon.wait_healthy(timeout=30)
        urllib.request.urlopen(f"http://127.0.0.1:{port}/api/new-releases?limit=1", timeout=5).read()
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        deadline = time.monotonic() + 10
        while not any(e["event"] == "stream_closed" for e in daemon.events()) and debug != "edge":
            assert time.monotonic() < deadline, daemon.stdout()[-2000:]
            time.sleep(0.05)
        assert daemon.stop(signal.SIGTERM)[0] == 0
    finally:
        daemon.kill()
    return [e for e in daemon.events() if e["level"] == "debug"]


def test_server_star_prints_the_app_the_edge_and_the_streams_each_line_naming_its_namespace(tmp_path, fresh_db_url):
    lines = _http_side_debug(tmp_path, fresh_db_url, "server:*")
    by_namespace = {}
    for line in lines:
        by_namespace.setdefault(line["namespace"], set()).add(line["event"])
    assert by_namespace.get("http", set()) >= {"app_answered"}, by_namespace
    assert by_namespace.get("edge", set()) >= {"answer_sent"}, by_namespace
    assert by_namespace.get("stream", set()) >= {"stream_opened", "stream_closed"}, by_namespace
    sent = [e for e in lines if e["event"] == "answer_sent" and e["path"] == "/api/new-releases"]
    assert sent and sent[0]["status"] == 200 and sent[0]["method"] == "GET"


def test_one_namespace_prints_only_its_own_lines(tmp_path, fresh_db_url):
    lines = _http_side_debug(tmp_path, fresh_db_url, "edge")
    assert lines and {e["namespace"] for e in lines} == {"edge"}
