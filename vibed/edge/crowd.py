"""What a connection over its peer's cap is told (``VIBED_CONNECTIONS_PER_PEER``, vibed/limits/peers.py).

It takes no slot and no task.  Its first bytes are read once, as any new connection's are (in
``arrivals.py``'s epoll, within the head timeout), and it is answered from its request line alone:

- an SSE stream request (``GET`` on a stream path) gets what every other refused SSE stream gets: a
  200 event stream holding a comment and a spread ``retry:``, then its end, because a browser's
  EventSource gives up for good on any other status (a reconnecting crowd behind one NAT is the
  case);
- anything else gets 429 with ``Retry-After``.

So the cap stays a bound: at most ``AT_ONCE`` such connections are waited on at once (past that one
gets the 429 unread, as before), each for at most the head timeout, with one read and one write of a
few hundred bytes, and then it is closed.
"""

from __future__ import annotations

from vibed.delivery.frames import STREAM_HEADERS
from vibed.delivery.sse import RETRY_AFTER, come_back_later
from vibed.edge.respond import SECURITY_HEADERS, Answer, decorated, error_body
from vibed.edge.router import STREAM_PATHS

AT_ONCE = 64  # connections over their peer's cap waited on at once, to tell a stream from the rest
_REASON = "your address holds as many connections as one client may"
_BODY = error_body("too_many_connections", f"{_REASON}; close one, or reuse it (keep-alive)")
REFUSED = (b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: %s\r\nContent-Type: application/json\r\n"
           b"Content-Length: %d\r\nConnection: close\r\n%s\r\n%s"
           % (RETRY_AFTER.encode(), len(_BODY), b"".join(b"%s: %s\r\n" % h for h in SECURITY_HEADERS), _BODY))
_STREAMS = frozenset(path.encode() for path in STREAM_PATHS)


def asks_for_a_stream(first: bytes) -> bool:
    """The request line (in the first bytes read) is a ``GET`` of an SSE stream."""
    method, _, rest = first.partition(b" ")
    return method == b"GET" and rest.partition(b" ")[0].partition(b"?")[0] in _STREAMS


def turned_away(first: bytes) -> bytes:
    """The whole answer to a connection over its peer's cap, from the bytes it sent first."""
    if not asks_for_a_stream(first):
        return REFUSED
    body = come_back_later(f"{_REASON}; come back later", int(RETRY_AFTER))
    answer = Answer(200, (*STREAM_HEADERS, (b"content-length", b"%d" % len(body)), (b"connection", b"close")))
    return b"HTTP/1.1 200 OK\r\n%s\r\n%s" % (b"".join(b"%s: %s\r\n" % h for h in decorated(answer, ())), body)
