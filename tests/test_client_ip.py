"""Who the client is, over IPv4 and IPv6: the peer, or the right-most untrusted hop behind a trusted proxy;
and the direct-loopback rule of the control endpoint seen from real sockets of both families."""

from __future__ import annotations

import httpx
import pytest

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from vibed.vocab.client_ip import client_ip, limit_key, trusted_networks

FETCH = "/api/new-releases/fetch"


@pytest.mark.parametrize(("peer", "hops", "trusted", "expected"), [
    # nothing trusted: the kernel's text as it is, whatever a header says
    ("2001:db8::7", ["198.51.100.1"], "", "2001:db8::7"),
    (None, [], "", "unknown"),
    # a peer that is not a trusted proxy is the client
    ("2001:db8::7", ["198.51.100.1"], "::1", "2001:db8::7"),
    ("2001:0db8:0000::0007", [], "10.0.0.0/8", "2001:db8::7"),  # normalised once a proxy list is set
    # behind a trusted IPv6 proxy: right-most untrusted hop, brackets, ports and zone ids dropped
    ("::1", ["6.6.6.6, [2001:db8::42]:443"], "::1", "2001:db8::42"),
    ("::1", ["fe80::1%eth0"], "::1", "fe80::1"),
    ("::1", ["203.0.113.7:5123"], "::1", "203.0.113.7"),
    ("::1", ["2001:db8::9", "fd00::5"], "::1,fd00::/8", "2001:db8::9"),  # two headers, two proxies
    # only trusted hops: the left-most of them; a garbage hop stops the walk at the last good one
    ("::1", ["fd00::5"], "::1,fd00::/8", "fd00::5"),
    ("::1", ["2001:db8::1, not-an-ip, fd00::5"], "::1,fd00::/8", "fd00::5"),
    ("garbage", ["2001:db8::1"], "::1", "garbage"),
    # a dual-stack socket shows the IPv4 proxy 127.0.0.1 as ::ffff:127.0.0.1: still the trusted proxy
    ("::ffff:127.0.0.1", ["198.51.100.7"], "127.0.0.1", "198.51.100.7"),
    ("::ffff:192.0.2.9", [], "127.0.0.1", "192.0.2.9"),
])
def test_client_address_over_both_families(peer, hops, trusted, expected):
    networks = trusted_networks(part for part in trusted.split(",") if part)
    assert client_ip(peer, hops, networks) == expected


@pytest.mark.parametrize(("ip", "key"), [
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),  # one IPv6 host owns a whole /64
    ("2001:db8:1:2:ffff::9", "2001:db8:1:2::/64"),
    ("::ffff:192.0.2.5", "192.0.2.5"),  # an IPv4 client on a dual-stack socket is itself
    ("192.0.2.5", "192.0.2.5"),
    ("unknown", "unknown"),
])
def test_rate_limit_key_is_the_address_or_its_slash_64(ip, key):
    assert limit_key(ip) == key


def test_a_bad_trusted_network_is_an_error_not_skipped():
    with pytest.raises(ValueError, match="does not appear to be an IPv4 or IPv6 network"):
        trusted_networks(["::1", "proxy.internal"])


async def test_ipv6_clients_of_one_slash_64_share_the_rate_limit_behind_a_trusted_proxy(db_url):
    config = api_config(db_url, host="::1", api_rate_limit=2, trusted_proxies="::1")
    async with running_daemon(config) as api:
        base = f"http://[::1]:{api.port}"
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            async def ask(xff: str) -> httpx.Response:
                return await client.get("/api/rate-limit", headers={"X-Forwarded-For": xff})

            same = [await ask(f"2001:db8:0:1::{n:x}") for n in (1, 2, 3)]
            other = await ask("2001:db8:0:2::1")
    assert [r.status_code for r in same] == [200, 200, 429]
    assert [r.headers["RateLimit-Remaining"] for r in same] == ["1", "0", "0"]
    assert other.status_code == 200 and other.headers["RateLimit-Remaining"] == "1"


async def test_control_answers_a_direct_ipv6_loopback_client(db_url):
    config = api_config(db_url, host="::1")
    async with running_daemon(config) as api:
        async with httpx.AsyncClient(base_url=f"http://[::1]:{api.port}", timeout=10) as client:
            answer = await client.post(FETCH, json={"languages": ["ml"]})
            relayed = await client.post(FETCH, headers={"X-Real-IP": "2001:db8::1"})
    assert answer.status_code == 202 and answer.json()["status"] == "queued"
    assert relayed.status_code == 403 and relayed.json()["error"] == "forbidden"


async def test_control_answers_an_ipv4_loopback_client_of_a_dual_stack_socket(db_url):
    # bound on "::", an IPv4 peer arrives as ::ffff:127.0.0.1: still this machine, directly
    config = api_config(db_url, host="::")
    async with running_daemon(config) as api:
        answer = await api.client.post(FETCH)
    assert answer.status_code == 202, answer.text
    assert answer.json()["status"] == "queued"
