"""Lint one URL with REDbot (``redbot`` on PyPI, Mark Nottingham's HTTP linter); print its notes.

    python tests/redbot_lint.py http://127.0.0.1:5006/feeds/new-releases.atom
    python tests/redbot_lint.py --stream http://127.0.0.1:5006/api/new-releases/stream

Each note is one JSON line: ``{"note": class name, "level": "good|info|warning|bad", "summary"}``,
sub-notes included.  REDbot fetches the URL, then makes its own follow-up requests (conditional
GETs against the validators, a gzip negotiation, a range request) and lints all of them.

A stream's body never ends and REDbot waits for the end, so ``--stream`` lints the answer's head
with httplint (the linter REDbot is built on) instead: the status line and headers as received.
One URL per process: REDbot's event loop (thor) runs once.
"""

from __future__ import annotations

import json
import socket
import sys
from collections.abc import Iterable, Iterator
from configparser import ConfigParser
from typing import Any
from urllib.parse import urlsplit


def _flat(notes: Iterable[Any]) -> Iterator[dict[str, str]]:
    for note in notes:
        yield {"note": type(note).__name__, "level": note.level.value, "summary": note.summary}
        yield from _flat(note.subnotes)


def redbot_notes(url: str) -> list[dict[str, str]]:
    import thor
    from redbot.formatter import find_formatter
    from redbot.resource import HttpResource

    parser = ConfigParser()
    parser.read_dict({"redbot": {"enable_local_access": "True"}})  # the daemon is on loopback
    config = parser["redbot"]
    resource = HttpResource(config, descend=False)
    resource.set_request(url)
    formatter = find_formatter("text", "text", False)(config, resource, lambda _: None,
                                                       {"tty_out": False, "descend": False})
    formatter.bind_resource(resource)

    @thor.events.on(formatter)
    def formatter_done() -> None:
        thor.stop()

    resource.check()
    thor.run()
    if resource.fetch_error is not None:
        error = resource.fetch_error
        raise SystemExit(f"redbot could not fetch {url}: {type(error).__name__} {error.desc} {error.detail or ''}")
    return list(_flat(resource.response.notes))


def stream_head_notes(url: str) -> list[dict[str, str]]:
    from httplint import HttpResponseLinter

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port or 80), timeout=10) as sock:
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(65536)
            if not chunk:
                raise SystemExit(f"{url}: the connection closed before the answer's head")
            received += chunk
    head = received.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    version, status, reason = (head[0].split(b" ", 2) + [b""])[:3]
    linter = HttpResponseLinter()
    linter.process_response_topline(version, status, reason)
    fields = [line.split(b":", 1) for line in head[1:]]
    linter.process_headers([(name, value.strip()) for name, value in fields])
    linter.finish_content(False)  # the body goes on for ever
    return list(_flat(linter.notes))


def main(argv: list[str]) -> None:
    stream = "--stream" in argv
    url = [a for a in argv if a != "--stream"][0]
    for note in (stream_head_notes if stream else redbot_notes)(url):
        print(json.dumps(note))


if __name__ == "__main__":
    main(sys.argv[1:])
