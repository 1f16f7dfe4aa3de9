"""No client holds a connection by being slow, on real sockets: a request body has one deadline for the
whole of it (a byte now and then does not renew it), and an answer has one for leaving (a client that
stops reading is reset, its buffers freed)."""

from __future__ import annotations

import errno
import socket

import trio

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, read_responses, request
from tests.stream_support import BIG_BODY, open_gateway
from vibed.edge.connection import Timeouts


async def test_a_drip_fed_body_is_408_at_the_body_deadline_however_often_a_byte_comes(db):
    async with open_gateway(db, timeouts=Timeouts(body=0.6)) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("POST", "/api/echo", "Content-Length: 100"))
        started = trio.current_time()

        async def drip() -> None:  # one byte every 0.1 s: each read alone is far inside the deadline
            for _ in range(100):
                try:
                    await stream.send_all(b"x")
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                await trio.sleep(0.1)

        async with trio.open_nursery() as nursery:
            nursery.start_soon(drip)
            data, closed = await read_all(stream, timeout=5)
            elapsed = trio.current_time() - started
            nursery.cancel_scope.cancel()
    [answer] = parse(data, ["POST"])
    assert_json_error(answer, 408, "request_timeout")
    assert closed and elapsed < 3, elapsed


async def test_a_client_that_stops_reading_an_answer_is_reset_at_the_write_deadline(db):
    async with open_gateway(db, timeouts=Timeouts(write=0.5)) as gw:
        client = socket.socket()
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # so the answer cannot fit in buffers
        client.setblocking(False)
        try:
            peer = trio.socket.from_stdlib_socket(client)
            await peer.connect(("127.0.0.1", gw.port))
            await peer.send(request("GET", "/api/big"))
            # read nothing; the server gives up and resets: the kernel reports it without a read
            with trio.fail_after(10):
                while (error := client.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)) == 0:
                    await trio.sleep(0.05)
            received = 0
            try:
                while chunk := await peer.recv(1 << 20):
                    received += len(chunk)
            except ConnectionResetError:
                pass
        finally:
            client.close()
    assert error == errno.ECONNRESET
    assert received < BIG_BODY


async def test_an_app_that_does_not_answer_in_time_is_a_503_in_the_error_shape(db):
    # /api/slow sleeps 0.3 s; the app is given 0.05 s (30 s by default)
    async with open_gateway(db, timeouts=Timeouts(app=0.05)) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("GET", "/api/slow"))
        [answer] = await read_responses(stream, ["GET"])
    assert_json_error(answer, 503, "timeout")
    assert "no answer within 0.05 s" in answer.json()["detail"]
