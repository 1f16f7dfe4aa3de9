"""HTTP/1.1's plainest exchange without h11, sans I/O: the bodiless ``GET``/``HEAD`` a crowd sends,
and an answer of known length on a connection that stays open.

A crowd of streams (and the page a browser loads before its EventSource) is thousands of heads of
one shape: a request line, ``Host`` and a few plain fields, no body.  h11 reads every head through
its general machinery, which was 41 % of the server's CPU per connection at 10,000 connections.
``read_plain`` reads only that shape, strictly, and answers None for anything else: the caller then
hands the bytes to h11, which parses or refuses them as before.  So it needs to be right in one
direction only: **whatever it accepts, h11 accepts too, with the same method, target and fields**
(tests/test_edge_plain_http.py runs both over a table of hostile heads).  It takes a head only when:

- the request line is ``GET`` or ``HEAD``, an origin-form target of visible ASCII with no ``%`` or
  ``#`` in its path (so the edge's rewrite, vibed/edge/target.py, leaves it as it is), ``HTTP/1.1``;
- every line ends in CRLF and holds no other CR or LF (no bare-LF lines, no obs-fold);
- every field is a token, a colon, and a value of visible ASCII, spaces and tabs (no obs-text, no
  controls), and the head is within ``limit`` bytes;
- exactly one ``Host``; no ``Content-Length``, ``Transfer-Encoding``, ``Expect`` or ``Upgrade``; a
  ``Connection`` only if it says ``keep-alive`` (so the connection stays open after the answer).

``render_plain`` writes an answer as h11 writes it on such a connection, or None where h11 would
add or change something (no usable ``Content-Length``, ``Transfer-Encoding``, ``Connection``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import attrs

Header = tuple[bytes, bytes]
_REQUEST_LINE = re.compile(rb"(GET|HEAD) (/[\x21-\x7e]*) HTTP/1\.1")
_TOKEN = re.compile(rb"[-!#$%&'*+.^_`|~0-9A-Za-z]+")
_NOT_VALUE = re.compile(rb"[^\x21-\x7e \t]")  # visible ASCII, and spaces and tabs inside
_FRAMING = frozenset({b"content-length", b"transfer-encoding", b"expect", b"upgrade"})
_BODILESS = frozenset({204, 304})


@attrs.frozen
class PlainRequest:
    method: bytes
    target: bytes
    headers: tuple[Header, ...]  # names lower-cased, values without the spaces around them, as h11 gives them
    end: int  # where the head ended in the bytes read: the next request starts there


def read_plain(data: bytes, start: int, limit: int) -> PlainRequest | None:
    """The plain request whose head starts at ``data[start]``, or None: not whole yet, or not
    plain (h11 decides)."""
    end = data.find(b"\r\n\r\n", start, start + limit + 4)
    if end < 0:
        return None
    lines = data[start:end].split(b"\r\n")
    line = _REQUEST_LINE.fullmatch(lines[0])
    if line is None or b"%" in (path := line[2].partition(b"?")[0]) or b"#" in path:
        return None
    headers = []
    hosts = 0
    for field in lines[1:]:
        name, colon, value = field.partition(b":")
        if not colon or _TOKEN.fullmatch(name) is None or _NOT_VALUE.search(value) is not None:
            return None  # CR, LF, obs-fold (a line starting with a space), controls, obs-text
        name, value = name.lower(), value.strip(b" \t")
        if name in _FRAMING or (name == b"connection" and value.lower() != b"keep-alive"):
            return None
        hosts += name == b"host"
        headers.append((name, value))
    if hosts != 1:
        return None
    return PlainRequest(line[1], line[2], tuple(headers), end + 4)


def render_plain(status: int, reason: bytes, headers: Sequence[Header], body: bytes, *, head: bool) -> bytes | None:
    """The answer's bytes as h11 writes them after a plain request (``head``: a HEAD, no body
    sent), or None when h11 would write something else."""
    lengths = [value for name, value in headers if name == b"content-length"]
    bodiless = head or status in _BODILESS
    # without a length, h11 frames the body (chunked), a HEAD's too: only a 204/304 needs none
    if not 200 <= status <= 999 or len(lengths) > 1 or (not lengths and status not in _BODILESS):
        return None
    if lengths and not (lengths[0].isdigit() and len(lengths[0]) <= 20
                        and (bodiless or int(lengths[0]) == len(body))):
        return None
    if any(name in (b"transfer-encoding", b"connection", b"host") or name != name.lower() for name, _ in headers):
        return None
    lines = b"".join(b"%s: %s\r\n" % header for header in headers)
    return b"HTTP/1.1 %d %s\r\n%s\r\n%s" % (status, reason, lines, b"" if bodiless else body)
