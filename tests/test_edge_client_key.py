"""One client key for every limit, on real sockets: the per-client stream limit counts the client a
trusted proxy forwards for (not the proxy), and an IPv6 client by its /64, as the API limit does;
``HEAD`` on a stream URL answers GET's head and takes no stream slot."""

from __future__ import annotations

import contextlib

import trio

from tests.http_wire import raw_clients, read_responses, request
from tests.stream_support import SseClient, open_gateway

STREAM = "/api/new-releases/stream"
BEHIND_PROXY = {"trusted_proxies": ("127.0.0.1/32",), "stream_limit_per_ip": 1}


async def statuses(port: int, *forwarded_for: str) -> list[str]:
    """Open one stream per ``X-Forwarded-For`` value, in order, all held open: was each held, or
    refused (a 200 that ends at once with a comment and ``retry:``, so an EventSource comes back)?"""
    async with contextlib.AsyncExitStack() as streams:
        out = []
        for hop in forwarded_for:
            client = await SseClient.open(port, STREAM, X_Forwarded_For=hop)
            streams.push_async_callback(client.aclose)
            refused = client.status != 200 or client.header("connection") == "close"
            out.append("refused" if refused else "held")
        return out


async def test_the_stream_limit_counts_each_client_behind_a_trusted_proxy_not_the_proxy(db):
    async with open_gateway(db, **BEHIND_PROXY) as gw:
        # every connection comes from the proxy 127.0.0.1; two clients behind it, one of them twice
        got = await statuses(gw.port, "198.51.100.1", "198.51.100.2", "198.51.100.1")
    assert got == ["held", "held", "refused"]


async def test_ipv6_clients_hold_streams_by_their_slash_64_as_the_api_limit_counts_them(db):
    async with open_gateway(db, **BEHIND_PROXY) as gw:
        got = await statuses(gw.port, "2001:db8:0:1::1", "2001:db8:0:1::2", "2001:db8:0:1:ffff::9",
                             "2001:db8:0:2::1")
        with trio.fail_after(5):  # every slot is given back under the key it was taken with
            while gw.delivery.hub.admission.by_ip:
                await trio.sleep(0.02)
    assert got == ["held", "refused", "refused", "held"]


async def test_head_on_a_stream_url_gets_the_head_of_get_without_a_stream_or_a_slot(db):
    async with open_gateway(db, max_streams=1) as gw, raw_clients(gw.port) as connect:
        stream = await connect()
        await stream.send_all(request("HEAD", STREAM + "?language=ml") + request("HEAD", STREAM + "?language=xx")
                              + request("GET", "/api/ping"))
        head, bad, after = await read_responses(stream, ["HEAD", "HEAD", "GET"])
        slots = gw.delivery.hub.admission.open
    assert head.status == 200 and head.body == b""
    assert head.headers["content-type"] == "text/event-stream; charset=utf-8"
    assert head.headers["cache-control"] == "no-store"
    assert bad.status == 400 and bad.body == b"" and bad.headers["content-type"] == "application/json"
    assert after.status == 200 and slots == 0  # the connection went on; no stream slot was taken
