"""The request target as the app routes it: one form for the limits, the edge cache and the app.

The app (Hypercorn, then Quart) routes on the percent-decoded path, so ``/%61pi/new-releases`` is
``/api/new-releases`` to it; and RFC 9112 §3.2.2 has a server accept the absolute form
``GET http://host/api/…`` that clients only send to proxies.  Were the per-IP limit to look at the
raw target, both would escape it, and each spelling would be a new edge-cache key that runs the
app.  So the edge rewrites every request once, before anyone looks at it:

- absolute form → origin form, and its authority becomes ``Host`` (the RFC: the received ``Host``
  is ignored), so a Host check sees the host that was asked for;
- the path → decoded as the app decodes it, then encoded again in one canonical way (only what
  must be escaped is: ``%``, ``?``, ``#``, spaces, controls, non-ASCII), so every spelling of a
  path is one target;
- the query is kept as sent (the limit does not read it; the app decodes it itself).

A target in no form a server takes (``api/x``, ``ftp://…``, userinfo in the authority) is refused,
unless its method is one the edge does not implement (``CONNECT host:443``): that is a 501.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote

import h11

from vibed.edge.framing import KNOWN_METHODS

_ABSOLUTE = re.compile(rb"(?i)(https?)://([^/?#]*)(.*)")
_PATH_SAFE = "/!$&'()*+,;=:@"  # RFC 3986 pchar and "/": kept as they are (letters, digits, -._~ too)


def routed_request(request: h11.Request) -> h11.Request | None:
    """``request`` as the app will route it (itself when already so), or None for a target that is
    not a path, ``*`` or an http(s) absolute URL."""
    target = request.target
    authority = None
    if not target.startswith(b"/"):
        if target == b"*" or request.method.decode("ascii") not in KNOWN_METHODS:
            return request  # OPTIONS *; CONNECT host:443 and other methods are the router's 501
        absolute = _ABSOLUTE.fullmatch(target)
        if absolute is None or not absolute[2] or b"@" in absolute[2]:
            return None
        authority, target = absolute[2], absolute[3] or b"/"
        if not target.startswith(b"/"):  # "http://host?x"
            target = b"/" + target
    path, mark, query = target.partition(b"?")
    if b"%" in path or b"#" in path:
        path = quote(unquote(path.decode("ascii")), safe=_PATH_SAFE).encode("ascii")
    canonical = path + mark + query
    if authority is None and canonical == request.target:
        return request  # the common case: nothing to rewrite
    headers = [(name, value) for name, value in request.headers if name != b"host" or authority is None]
    if authority is not None:
        headers.insert(0, (b"host", authority))
    return h11.Request(method=request.method, target=canonical, headers=headers,
                       http_version=request.http_version)


def app_path(target: bytes) -> str:
    """The path of a routed target as the app sees it: percent-decoded (UTF-8, errors replaced)."""
    path = target.partition(b"?")[0].decode("ascii")
    return unquote(path) if "%" in path else path
