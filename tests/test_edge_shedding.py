"""The accept loop when descriptors run short: a client past the reserve ceiling, or one queued while the
process has no descriptor left at all, gets a 503 written without its request being read, and accepting
goes on.  Real listening socket and real client sockets in this process."""

from __future__ import annotations

import contextlib
import json
import resource
import socket

import trio

from tests.http_wire import request
from tests.stream_support import open_gateway
from vibed.edge.server import Acceptor, open_listen_socket

SHED_HEAD = (b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\nContent-Type: application/json\r\n"
             b"Content-Length: 77\r\nConnection: close\r\n\r\n")
SHED_BODY = {"error": "too_many_streams", "detail": "no file descriptor is left; try again"}


async def answer_of(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes (the caller closes ``sock``)."""
    peer = trio.socket.from_stdlib_socket(sock)
    data = b""
    with trio.fail_after(10):
        while chunk := await peer.recv(65536):
            data += chunk
    return data


def assert_shed(data: bytes) -> None:
    head, _, body = data.partition(b"\r\n\r\n")
    assert head + b"\r\n\r\n" == SHED_HEAD
    assert json.loads(body) == SHED_BODY


async def test_past_the_descriptor_ceiling_a_client_gets_503_unread_and_accepting_goes_on():
    listener = open_listen_socket("127.0.0.1", 0)
    acceptor = Acceptor(router=None, fd_ceiling=0)  # every new socket is past the ceiling
    try:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(acceptor.serve_accepting, listener, nursery)
            for _ in range(3):
                with socket.create_connection(listener.getsockname()) as client:
                    client.sendall(request("GET", "/api/new-releases/stream"))
                    assert_shed(await answer_of(client))
            nursery.cancel_scope.cancel()
    finally:
        acceptor.close()
        listener.close()


@contextlib.contextmanager
def no_descriptor_left():
    """Lower this process's RLIMIT_NOFILE to the lowest free descriptor: the next one fails with EMFILE."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    probe = socket.socket()
    lowest_free = probe.fileno()
    probe.close()
    resource.setrlimit(resource.RLIMIT_NOFILE, (lowest_free, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


async def test_out_of_descriptors_each_queued_client_gets_503_from_the_spare_and_then_service_resumes(db):
    async with open_gateway(db) as gateway:
        address = ("127.0.0.1", gateway.port)
        clients = [socket.socket() for _ in range(3)]  # their descriptors exist before the limit drops
        try:
            with no_descriptor_left():
                for client in clients:
                    client.connect(address)  # queued: the daemon cannot accept without a descriptor
                    client.sendall(request("GET", "/api/ping"))
                answers = [await answer_of(client) for client in clients]
        finally:
            for client in clients:
                client.close()
        for data in answers:
            assert_shed(data)
        with socket.create_connection(address) as fresh:  # descriptors again: served as usual
            fresh.sendall(request("GET", "/api/ping", "Connection: close"))
            data = await answer_of(fresh)
        assert data.startswith(b"HTTP/1.1 200 ")
        assert json.loads(data.partition(b"\r\n\r\n")[2]) == {"pong": True, "lifespan_runs": 1}
