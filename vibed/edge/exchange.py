"""One request as the edge parsed it, on the connection that carries it.

``request`` is already as the app routes it (target.py): ``path`` is what the app matches its
routes against, and ``target`` the one spelling of it, for the limits and the edge cache."""

from __future__ import annotations

import socket

import attrs
import h11

from vibed.edge.target import app_path


@attrs.frozen
class RequestHead:
    method: str
    path: str  # percent-decoded, as the app routes it
    query: str
    headers: dict[str, str]  # lower-cased names; a repeated header's values joined with ", "
    request: h11.Request = attrs.field(repr=False)
    conn: h11.Connection = attrs.field(eq=False, repr=False)  # to read the body and render the answer
    sock: socket.socket = attrs.field(eq=False, repr=False)
    peer: tuple[str, int]
    reused: bool  # an earlier request on this connection was answered already

    @classmethod
    def of(cls, request: h11.Request, conn: h11.Connection, sock: socket.socket, peer: tuple[str, int],
           reused: bool) -> RequestHead:
        query = request.target.partition(b"?")[2].decode("latin-1")
        path = app_path(request.target)
        headers: dict[str, str] = {}
        for name, value in request.headers:
            key, text = name.decode("latin-1"), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        return cls(request.method.decode("latin-1"), path, query, headers, request, conn, sock, peer, reused)

    @property
    def target(self) -> bytes:
        """The canonical request target: path and query, in origin form."""
        return self.request.target

    @property
    def has_body(self) -> bool:
        return "content-length" in self.headers or "transfer-encoding" in self.headers

    @property
    def wants_websocket(self) -> bool:
        return self.headers.get("upgrade", "").lower() == "websocket"
