"""Every CLI mistake is one line on stderr and exit code 2, never a traceback and never silently ignored."""

from __future__ import annotations

import socket
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.daemon_proc import VIBED, clean_env, free_port


def vibed(tmp_path, *args: str) -> subprocess.CompletedProcess:
    # a mistake that slipped through would reach a database and a port: both the test's own
    env = clean_env(VIBED_DATA_DIR=str(tmp_path / "data"), PORT=str(free_port()), VIBED_HOST="127.0.0.1")
    return subprocess.run([*VIBED, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


def one_line(done: subprocess.CompletedProcess, *fragments: str) -> None:
    assert done.returncode == 2, (done.returncode, done.stdout[-500:], done.stderr[-1500:])
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("vibed: "), done.stderr
    assert all(f in done.stderr for f in fragments), done.stderr


@pytest.mark.parametrize(("args", "fragments"), [
    (("bucket", "set", "jiosaavn", "--tokens", "-3"), ("--tokens", "0 or more", "'-3'")),
    (("bucket", "set", "jiosaavn", "--max", "nan"), ("--max", "finite")),
    (("bucket", "set", "jiosaavn", "--per-day", "lots"), ("--per-day", "must be a number")),
    (("backfill", "--language", "ml", "--max-requests", "0"), ("--max-requests", "1 or more")),
    (("run", "--env-file", "missing.env"), ("--env-file 'missing.env' does not exist",)),
    (("migrate", "--env-file", "missing.env"), ("--env-file 'missing.env' does not exist",)),
    (("status", "--env-file", "missing.env"), ("--env-file 'missing.env' does not exist",)),
    (("run", "--port"), ("--port", "expected one argument")),
    (("run", "--no-such-flag"), ("unrecognized arguments: --no-such-flag",)),
    (("nosuch",), ("invalid choice: 'nosuch'",)),
    (("bucket",), ("required: ACTION",)),
])
def test_a_mistake_is_one_line_and_exit_2(tmp_path, args, fragments) -> None:
    one_line(vibed(tmp_path, *args), *fragments)


class _Html(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = b"<html>not vibed</html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_status_pointed_at_a_port_that_is_not_vibed_says_so_in_one_line(tmp_path) -> None:
    html = ThreadingHTTPServer(("127.0.0.1", 0), _Html)
    threading.Thread(target=html.serve_forever, daemon=True).start()
    garbage = socket.create_server(("127.0.0.1", 0))

    def answer_garbage() -> None:
        conn, _ = garbage.accept()
        with conn:
            conn.recv(1024)
            conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")

    threading.Thread(target=answer_garbage, daemon=True).start()
    try:
        one_line(vibed(tmp_path, "status", "--port", str(html.server_address[1])), "without vibed's health JSON")
        one_line(vibed(tmp_path, "status", "--port", str(garbage.getsockname()[1])), "does not answer HTTP")
    finally:
        html.shutdown()
        html.server_close()
        garbage.close()


def test_debug_help_describes_the_value_the_flag_takes(tmp_path) -> None:
    done = vibed(tmp_path, "run", "--help")
    text = " ".join(done.stdout.split())
    assert "--debug [NAMESPACES]" in text and "--debug alone prints all of vibed's" in text
