"""One peer holds at most ``connections_per_peer`` connections, on real sockets: the next gets a 429
answered from its request line, or, for an SSE stream, a 200 that says when to come back and ends (an
EventSource gives up for good on a 429); the connections turned away are bounded in number and time;
a freed connection lets the next one in, and a trusted proxy, which carries many clients, is not capped."""

from __future__ import annotations

import trio

from tests.http_wire import assert_json_error, parse, raw_clients, read_all, read_responses, request
from tests.pipeline_support import captured_logs, events_named
from tests.stream_support import open_gateway
from vibed.edge.connection import Timeouts
from vibed.edge.crowd import AT_ONCE
from vibed.limits.peers import EXEMPT, PeerConnections
from vibed.vocab.client_ip import trusted_networks


async def served(connect) -> trio.SocketStream:
    """A new connection whose first request was answered 200 (so the server counts it)."""
    stream = await connect()
    await stream.send_all(request("GET", "/api/ping"))
    [answer] = await read_responses(stream, ["GET"])
    assert answer.status == 200, answer
    return stream


async def test_a_peer_over_its_connection_cap_gets_429_and_a_freed_one_lets_the_next_in(db):
    async with open_gateway(db, connections_per_peer=3) as gw, raw_clients(gw.port) as connect:
        held = [await served(connect) for _ in range(3)]
        with captured_logs() as logs:
            crowd = [await connect() for _ in range(3)]
            for stream in crowd:
                await stream.send_all(request("GET", "/api/ping"))
            data, closed = await read_all(crowd[0])
        await held[0].aclose()
        with trio.fail_after(5):  # the server sees the close, then takes a new connection again
            while True:
                again = await connect()
                await again.send_all(request("GET", "/api/ping", "Connection: close"))
                answers = parse((await read_all(again))[0], ["GET"])
                if answers and answers[0].status == 200:
                    break
                await trio.sleep(0.02)
        [refused] = parse(data, ["GET"])
        assert_json_error(refused, 429, "too_many_connections")
        assert refused.headers["retry-after"] == "5" and closed
        # one line for the three refused, however many come (at most one per 30 s)
        assert [(e["peer"], e["limit"]) for e in events_named(logs, "connection_refused")] == [("127.0.0.1", 3)]
        assert gw.delivery.hub.statistics().sse_clients == 0


async def test_a_stream_over_the_cap_gets_a_200_that_says_when_to_come_back_and_ends(db):
    async with open_gateway(db, connections_per_peer=2) as gw, raw_clients(gw.port) as connect:
        held = [await served(connect) for _ in range(2)]
        answers = []
        for _ in range(3):
            stream = await connect()
            await stream.send_all(request("GET", "/api/new-releases/stream?language=ml",
                                          "Accept: text/event-stream", "Last-Event-ID: 7"))
            data, closed = await read_all(stream)
            [answer] = parse(data, ["GET"])
            assert closed
            answers.append(answer)
        other = await connect()
        await other.send_all(request("GET", "/api/ping"))
        [refused] = parse((await read_all(other))[0], ["GET"])
        assert gw.delivery.hub.statistics().sse_clients == 0 and len(held) == 2
    for answer in answers:
        assert answer.status == 200 and answer.headers["content-type"].startswith("text/event-stream")
        assert answer.headers["x-content-type-options"] == "nosniff"
        comment, retry = answer.body.decode().strip().split("\n\n")
        assert comment.startswith(": your address holds as many connections")
        assert 5000 <= int(retry.removeprefix("retry: ")) <= 20000
    assert len({a.body for a in answers}) > 1  # each drawn anew: a crowd behind one address comes back spread
    assert_json_error(refused, 429, "too_many_connections")


async def test_connections_over_the_cap_are_waited_on_only_so_many_at_once_and_only_so_long(db):
    async with open_gateway(db, connections_per_peer=1, timeouts=Timeouts(head=1.0)) as gw, \
            raw_clients(gw.port) as connect:
        await served(connect)
        silent = [await connect() for _ in range(AT_ONCE)]  # over the cap, sending nothing
        with trio.fail_after(3):
            late = await connect()  # one too many: refused at once, without a byte sent by it
            data, closed = await read_all(late)
        [refused] = parse(data, ["GET"])
        assert_json_error(refused, 429, "too_many_connections")
        with trio.fail_after(4):  # the silent ones end at the head timeout, having cost no slot
            for stream in silent:
                assert (await read_all(stream))[0] == b""
        stream = await connect()  # and the next one is waited on again
        await stream.send_all(request("GET", "/api/new-releases/stream"))
        [answer] = parse((await read_all(stream))[0], ["GET"])
        assert answer.status == 200 and answer.body.startswith(b": ")


async def test_a_trusted_proxy_is_not_capped(db):
    async with open_gateway(db, connections_per_peer=2, trusted_proxies=("127.0.0.1/32",)) as gw, \
            raw_clients(gw.port) as connect:
        held = [await served(connect) for _ in range(4)]
    assert len(held) == 4


def test_ipv6_peers_are_counted_by_their_slash_64_and_trusted_proxies_not_at_all():
    peers = PeerConnections(2)
    trusted = trusted_networks(["fd00::/8"])
    keys = [peers.take_nowait(peer, trusted) for peer in ("2001:db8:0:1::1", "2001:db8:0:1::2",
                                                         "2001:db8:0:1:ffff::3", "2001:db8:0:2::1", "fd00::7")]
    assert keys == ["2001:db8:0:1::/64", "2001:db8:0:1::/64", None, "2001:db8:0:2::/64", EXEMPT]
    peers.give_back_nowait("2001:db8:0:1::/64")
    assert peers.take_nowait("2001:db8:0:1::9", trusted) == "2001:db8:0:1::/64"
