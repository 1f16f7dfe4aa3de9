"""Webhook signing against the Standard Webhooks test vector, SSRF rules, back-off, and body formats."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import random
import re

import pytest
from standardwebhooks.webhooks import Webhook

from vibed.outbox.reach import RefusedTarget, TargetRules, address_problem, url_problem, vetted
from vibed.webhooks import formats
from vibed.webhooks.backoff import next_wait
from vibed.webhooks.signing import new_secret, sign, signed_headers

# the specification's published test vector (standard-webhooks/spec, "Signature scheme")
VECTOR = ("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
          b'{"test": 2432232314}', "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_signature_matches_the_specification_test_vector():
    secret, msg_id, timestamp, body, expected = VECTOR
    assert sign(secret, msg_id, timestamp, body) == expected


def test_a_new_secret_signs_what_the_standardwebhooks_verifier_accepts():
    secret = new_secret()
    assert secret.startswith("whsec_") and new_secret() != secret
    body = json.dumps({"type": "release.new", "data": {"title": "Aavesham ✓"}}, ensure_ascii=False).encode()
    now = int(dt.datetime.now(dt.UTC).timestamp())
    headers = {k.decode(): v.decode() for k, v in signed_headers(secret, "msg_7", now, body)}
    assert Webhook(secret).verify(body, headers)["data"]["title"] == "Aavesham ✓"
    tampered = body.replace(b"Aavesham", b"Aaveshan")
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(tampered, headers)


@pytest.mark.parametrize(("address", "what"), [
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("169.254.169.254", "link-local"), ("10.1.2.3", "private"),
    ("192.168.0.10", "private"), ("172.16.0.1", "private"), ("fd00:ec2::254", "private"),
    ("100.100.100.200", "not a public"), ("0.0.0.0", "unspecified"),
    ("224.0.0.1", "multicast"), ("fe80::1", "link-local"),
])
def test_internal_addresses_are_refused(address, what):
    problem = address_problem(ipaddress.ip_address(address), TargetRules())
    assert problem is not None and what in problem and "VIBED_WEBHOOK_ALLOW_CIDRS" in problem


@pytest.mark.parametrize(("address", "what"), [
    ("2002:a9fe:a9fe::1", "6to4"), ("2002:0a00:0001::", "6to4"), ("2002:0808:0808::1", "6to4"),
    ("2001:0:4136:e378:8000:63bf:f5ff:fffe", "Teredo"), ("64:ff9b::a9fe:a9fe", "NAT64"),
    ("64:ff9b::808:808", "NAT64"), ("64:ff9b:1::a00:1", "local-use NAT64"),
    ("::ffff:169.254.169.254", "IPv4-mapped"), ("::ffff:8.8.8.8", "IPv4-mapped"),
    ("::8.8.8.8", "IPv4-compatible"), ("::a9fe:a9fe", "IPv4-compatible"),
    ("::ffff:0:a9fe:a9fe", "IPv4-translated"), ("2606:4700::5efe:a9fe:a9fe", "ISATAP"),
    ("2606:4700::200:5efe:808:808", "ISATAP"),
])
def test_ipv6_that_embeds_ipv4_is_refused_whatever_ipv4_it_carries(address, what):
    """6to4, Teredo, NAT64, mapped/compatible/translated and ISATAP reach an IPv4 no IPv6 rule judges."""
    problem = address_problem(ipaddress.ip_address(address), TargetRules())
    assert problem is not None and what in problem and "VIBED_WEBHOOK_ALLOW_CIDRS" in problem
    assert "carries an IPv4" in url_problem(f"https://[{address}]/hook", TargetRules())
    # only an explicit IPv6 network lets one through
    assert address_problem(ipaddress.ip_address(address), TargetRules(allow_cidrs=(f"{address}/128",))) is None


def test_public_addresses_pass_and_allow_cidrs_relaxes_only_their_networks():
    assert address_problem(ipaddress.ip_address("93.184.216.34"), TargetRules()) is None
    assert address_problem(ipaddress.ip_address("2606:4700::1111"), TargetRules()) is None
    loopback = TargetRules(allow_cidrs=("127.0.0.0/8",))
    assert address_problem(ipaddress.ip_address("127.0.0.1"), loopback) is None
    assert "IPv4-mapped" in address_problem(ipaddress.ip_address("::ffff:127.0.0.1"), loopback)
    assert address_problem(ipaddress.ip_address("10.0.0.1"), loopback) is not None
    # one bad address among the resolved ones refuses the target
    with pytest.raises(RefusedTarget, match="10.0.0.1"):
        vetted([ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.1")], TargetRules())


def test_url_rules_before_any_lookup():
    rules = TargetRules()
    assert "https" in url_problem("http://example.com/hook", rules)
    assert url_problem("https://example.com/hook", rules) is None
    assert "loopback" in url_problem("https://127.0.0.1/hook", rules)
    assert "link-local" in url_problem("https://169.254.169.254/latest/meta-data", rules)
    assert "link-local" in url_problem("https://[fe80::1]/x", rules)
    assert url_problem("ftp://example.com", rules) is not None
    assert url_problem("https:///nohost", rules) is not None
    assert url_problem("http://127.0.0.1:9/x", TargetRules(allow_http=True, allow_cidrs=("127.0.0.0/8",))) is None


def test_backoff_follows_the_schedule_with_jitter_honours_retry_after_then_dead_letters():
    schedule = (5.0, 30.0, 120.0)
    rng = random.Random(7)
    waits = [next_wait(schedule, n, None, rng) for n in (1, 2, 3)]
    assert all(0.8 * s <= w <= 1.2 * s for w, s in zip(waits, schedule, strict=True))
    assert next_wait(schedule, 1, 600.0, rng) == 600.0
    assert next_wait(schedule, 1, 1e12, rng) == 86400.0
    assert next_wait(schedule, 4, None, rng) is None


RELEASE = {"id": 1, "source": "jiosaavn", "external_id": "x1", "kind": "album", "title": "<@everyone> & co",
           "artists": ["Sushin Shyam"], "language": "ml", "release_date": "2026-03-01",
           "image": "https://img.test/1.jpg", "url": "https://example.test/1"}


def test_formats_generic_discord_and_slack():
    at = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    generic = json.loads(formats.body("generic", RELEASE, at))
    assert generic == {"type": "release.new", "timestamp": "2026-03-01T12:00:00.000Z", "data": RELEASE}
    discord = json.loads(formats.body("discord", RELEASE, at))
    assert discord["allowed_mentions"] == {"parse": []}  # "@everyone" in a title pings nobody
    assert discord["embeds"][0]["thumbnail"]["url"] == RELEASE["image"] and discord["embeds"][0]["url"] == RELEASE["url"]
    slack = json.loads(formats.body("slack", RELEASE, at))
    assert "&lt;@everyone&gt; &amp; co" in slack["blocks"][0]["text"]["text"]
    assert slack["blocks"][0]["accessory"]["image_url"] == RELEASE["image"] and "Sushin Shyam" in slack["text"]
    assert formats.body("slack", RELEASE, at) == formats.body("slack", RELEASE, at)  # same bytes every attempt


def test_slack_bodies_mention_nobody_and_links_cannot_be_broken_out_of():
    hostile = {**RELEASE, "title": "<!channel> & <@U123|boss> <https://evil.example|click>", "artists": ["<!here>"],
               "language": "<#C1>", "url": "https://example.test/a>b|c<d&e=1"}
    slack = json.loads(formats.body("slack", hostile, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    heading = slack["blocks"][0]["text"]["text"]
    texts = [slack["text"], heading, slack["blocks"][1]["elements"][0]["text"]]
    # the only control sequence left is our own link; Slack reads &lt; as a literal <
    [(url, label)] = re.findall(r"<([^<>|]*)\|([^<>]*)>", heading)
    assert url == "https://example.test/a%3Eb%7Cc%3Cd&amp;e=1"
    assert label == "&lt;!channel&gt; &amp; &lt;@U123|boss&gt; &lt;https://evil.example|click&gt;"
    for text in texts:
        rest = text.replace(f"<{url}|", "")
        assert "<" not in rest and "& " not in rest, text  # no <!channel>, <@U…>, <#C…> nor a second link
    assert "&lt;!channel&gt;" in slack["text"] and "&lt;!here&gt;" in slack["text"]
