"""What the edge refuses in a request head before anyone routes it: ambiguous framing, an overlong
target, a method it does not know.

h11 parses leniently where RFC 9112 lets a server choose, and the edge chooses the strict side:
- ``Content-Length`` *and* ``Transfer-Encoding`` (§6.1: "ought to be handled as an error") is the
  shape of request smuggling: a proxy in front may frame the body by one header and we by the
  other.  400, and the connection is closed (``refuse``), so no second request hides in the body.
- ``Transfer-Encoding`` in HTTP/1.0, which has no chunked coding (§6.1): 400 and closed.
- a request target over ``TARGET_LIMIT``: 414 (URI Too Long), not 431, which is for header fields.
- a method is a case-sensitive token (RFC 9110 §9.1): ``head`` is not ``HEAD``.  A method outside
  ``KNOWN_METHODS`` is 501 (Not Implemented); a known one on a route without it is the app's 405.
"""

from __future__ import annotations

import h11

from vibed.edge.respond import Answer, error_answer

HEAD_LIMIT = 32 * 1024  # request line and headers, bytes
TARGET_LIMIT = 32 * 1024  # the request target alone, bytes
# RFC 9110's methods, PATCH and QUERY (the safe method with a body; in OpenAPI 3.2), but CONNECT:
# that asks for a tunnel, which only a proxy implements.  The app answers these 405 where no route has them.
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "QUERY"})


def framing_refusal(request: h11.Request) -> Answer | None:
    """The 400 or 414 for a parsed request head, or None; the caller closes the connection after it."""
    if len(request.target) > TARGET_LIMIT:
        return target_too_long()
    names = {name for name, _ in request.headers}
    if b"transfer-encoding" in names:
        if b"content-length" in names:
            return error_answer(400, "ambiguous_framing", "the request has both Content-Length and "
                                                          "Transfer-Encoding; send only one of them")
        if request.http_version == b"1.0":
            return error_answer(400, "ambiguous_framing", "HTTP/1.0 has no Transfer-Encoding; send "
                                                          "Content-Length, or use HTTP/1.1")
    return None


def oversized_head(received: bytes) -> Answer:
    """The answer to a head h11 gave up on at ``HEAD_LIMIT`` bytes: 414 when the request line alone
    is that long (no line end within the limit), else 431."""
    line_end = received.find(b"\r\n", 0, HEAD_LIMIT + 2)
    if line_end < 0 or line_end > TARGET_LIMIT:
        return target_too_long()
    return error_answer(431, "header_too_large", "the request head is larger than 32 KiB")


def target_too_long() -> Answer:
    return error_answer(414, "uri_too_long", "the request target is longer than 32 KiB; "
                                             "send long filters in fewer, shorter parameters")


def method_refusal(method: str) -> Answer | None:
    """501 for a method the edge does not implement (``head`` included: methods are case-sensitive)."""
    if method in KNOWN_METHODS:
        return None
    return error_answer(501, "not_implemented", f"the method {method[:20]!r} is not implemented (methods are "
                                                f"case-sensitive: GET, HEAD, POST…)")
