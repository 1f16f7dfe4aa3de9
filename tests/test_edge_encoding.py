"""Content codings on real sockets, through the whole daemon: gzip and br decode to the identity
bytes on every kind of answer (JSON, feeds, OpenAPI, the page and its assets), cached or not; each
coding has its own ETag and its own 304; a HEAD carries its GET's headers; ``Vary``; q-values;
streams never encoded; a held answer is compressed once per coding."""

from __future__ import annotations

import contextlib
import gzip
import re
from collections.abc import AsyncIterator

import brotli
import pytest

from tests.api_support import api_config, release, store
from tests.daemon_inproc import InProcessDaemon, running_daemon
from tests.http_wire import Parsed, raw_clients, read_responses, request
from tests.stream_support import SseClient
from tests.ws_support import GOOD, upgrade
from vibed.codings import MIN_SIZE, Preference, preference
from vibed.edge.encoding import negotiated
from vibed.edge.respond import Answer
from vibed.store.postgres import open_database

LISTING = "/api/new-releases?limit=40"
FEEDS = ("/feeds/new-releases.atom", "/feeds/new-releases.rss", "/feeds/new-releases.json")
DECODE = {"gzip": gzip.decompress, "br": brotli.decompress}
SUFFIX = {"gzip": "-gz", "br": "-br"}
CACHED = pytest.mark.parametrize("cached", [True, False], ids=["cache-hit", "cache-miss"])


@contextlib.asynccontextmanager
async def serving(db_url: str, cached: bool = True) -> AsyncIterator[InProcessDaemon]:
    async with open_database(db_url, pool_size=2) as db:
        await store(db, *(release(n) for n in range(60)))
    async with running_daemon(api_config(db_url)) as api:
        api.runtime.services.edge.cache.enabled = cached  # off: every answer comes from the app
        yield api


async def ask(api: InProcessDaemon, *requests: tuple[str, str, tuple[str, ...]]) -> list[Parsed]:
    """Each (method, target, headers) on one kept-alive connection, in order."""
    async with raw_clients(api.port) as connect:
        stream = await connect()
        await stream.send_all(b"".join(request(m, t, *h) for m, t, h in requests))
        return await read_responses(stream, [m for m, _, _ in requests])


def accept(coding: str | None) -> tuple[str, ...]:
    return () if coding is None else (f"Accept-Encoding: {coding}",)


def without_date(answer: Parsed) -> dict[str, str]:
    return {k: v for k, v in answer.headers.items() if k != "date"}


async def every_kind(api: InProcessDaemon) -> list[str]:
    [page] = await ask(api, ("GET", "/", ()))
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page.body.decode())
    return [LISTING, *FEEDS, "/openapi.json", "/", *assets, "/static/style.css"]


@CACHED
async def test_every_coding_decodes_to_the_same_bytes_on_every_kind_of_answer(db_url, cached):
    async with serving(db_url, cached) as api:
        for target in await every_kind(api):
            plain, gz, br = await ask(api, *(("GET", target, accept(c)) for c in (None, "gzip", "br")))
            assert plain.status == 200 and len(plain.body) >= MIN_SIZE, target
            assert "content-encoding" not in plain.headers, target
            for coding, answer in (("gzip", gz), ("br", br)):
                assert answer.headers["content-encoding"] == coding, target
                assert DECODE[coding](answer.body) == plain.body, target
                assert int(answer.headers["content-length"]) == len(answer.body) < len(plain.body), target
                if "etag" in plain.headers:
                    assert answer.headers["etag"] == plain.headers["etag"][:-1] + SUFFIX[coding] + '"', target
            for answer in (plain, gz, br):
                assert answer.headers["vary"] == "Accept-Encoding", target


@CACHED
async def test_each_codings_etag_gets_its_304_and_not_another_codings(db_url, cached):
    async with serving(db_url, cached) as api:
        for coding in (None, "gzip", "br"):
            [first] = await ask(api, ("GET", LISTING, accept(coding)))
            tag = first.headers["etag"]
            again, head, other = await ask(api, ("GET", LISTING, (*accept(coding), f"If-None-Match: {tag}")),
                                           ("HEAD", LISTING, (*accept(coding), f"If-None-Match: {tag}")),
                                           ("GET", LISTING, ("Accept-Encoding: br;q=0.5, gzip;q=0.4",
                                                             f"If-None-Match: {tag}")))
            for answer in (again, head):
                assert answer.status == 304 and answer.body == b"", coding
                assert answer.headers["etag"] == tag and answer.headers["vary"] == "Accept-Encoding"
                assert "content-encoding" not in answer.headers and "content-length" not in answer.headers
            if coding != "br":  # another representation: its own tag did not match, the whole answer comes
                assert other.status == 200 and other.headers["content-encoding"] == "br", coding


@CACHED
async def test_a_head_carries_the_headers_of_its_get_in_every_coding(db_url, cached):
    async with serving(db_url, cached) as api:
        for n, coding in enumerate((None, "gzip", "br")):
            target = f"{LISTING}&language=ml" + "&language=ml" * n  # a HEAD before any GET of its target
            head, get, head_after = await ask(api, ("HEAD", target, accept(coding)), ("GET", target, accept(coding)),
                                              ("HEAD", target, accept(coding)))
            assert head.status == get.status == 200 and head.body == head_after.body == b"" and get.body
            assert without_date(head) == without_date(get) == without_date(head_after), coding
            assert head.headers.get("content-encoding") == coding


async def test_q_values_and_identity_are_honoured(db_url):
    async with serving(db_url) as api:
        answers = await ask(api, *(("GET", LISTING, accept(c)) for c in (
            "br;q=0, gzip", None, "", "gzip;q=0.5, identity", "identity;q=0.5, br;q=0.9, gzip;q=0.8",
            "*", "deflate", "*;q=0")))
        tiny = await ask(api, *(("GET", "/api/new-releases?limit=1", accept(c)) for c in (
            "gzip, br", "identity;q=0, gzip", "*;q=0, br")))
    codings = [a.headers.get("content-encoding") for a in answers]
    assert codings == ["gzip", None, None, None, "br", "br", None, None]
    assert len(tiny[0].body) < MIN_SIZE and "content-encoding" not in tiny[0].headers  # not worth it
    assert tiny[0].headers["vary"] == "Accept-Encoding"  # it still differs by it: identity may be refused
    assert [a.headers.get("content-encoding") for a in tiny[1:]] == ["gzip", "br"]
    assert gzip.decompress(tiny[1].body) == brotli.decompress(tiny[2].body) == tiny[0].body


def test_accept_encoding_is_read_as_rfc_9110_says():
    table = {
        None: ((), True), "": ((), True), "gzip, br": (("br", "gzip"), True), "br;q=0, gzip": (("gzip",), True),
        "GZIP;Q=1": (("gzip",), True), "x-gzip": (("gzip",), True), "gzip;q=0.5": (("gzip",), True),
        "gzip;q=0.5, identity": ((), True), "br;q=0.5, gzip;q=0.8": (("gzip", "br"), True),
        "*": (("br", "gzip"), True), "identity;q=0": ((), False), "*;q=0": ((), False),
        "*;q=0, identity": ((), True), "gzip;q=nonsense, br": (("br",), True), "deflate, zstd": ((), True),
    }
    assert {k: preference(k) for k in table} == {k: Preference(*v) for k, v in table.items()}


async def test_streams_are_never_compressed(db_url):
    async with serving(db_url) as api:
        sse = await SseClient.open(api.port, Accept_Encoding="gzip, br")
        await sse.stream.aclose()
        [head] = await ask(api, ("HEAD", "/api/new-releases/stream", ("Accept-Encoding: identity;q=0, gzip",)))
        async with raw_clients(api.port) as connect:
            ws = await connect()
            await ws.send_all(upgrade(*GOOD, "Accept-Encoding: gzip, br"))
            handshake = b""
            while b"\r\n\r\n" not in handshake:
                handshake += await ws.receive_some(4096)
    assert sse.status == 200 and sse.header("content-encoding") == "" and sse.header("vary") == ""
    assert head.status == 200 and "content-encoding" not in head.headers and "vary" not in head.headers
    assert handshake.startswith(b"HTTP/1.1 101 ") and b"content-encoding" not in handshake.lower()


async def test_a_held_answer_is_compressed_once_per_coding(db_url):
    async with serving(db_url) as api:
        cache = api.runtime.services.edge.cache
        await ask(api, *(("GET", LISTING, accept("gzip")) for _ in range(3)))
        entry = cache.peek(LISTING.encode())
        assert entry is not None and set(entry.variants) == {"gzip"}
        made = entry.variants["gzip"]
        answers = await ask(api, *(("GET", LISTING, accept(c)) for c in ("gzip", "br", "br", None)))
        assert cache.peek(LISTING.encode()) is entry  # the same fill: no new event, within its life
        assert set(entry.variants) == {"gzip", "br", "identity"} and entry.variants["gzip"] is made
        assert answers[0].body == made.body and answers[1].body == answers[2].body == entry.variants["br"].body


def test_no_transform_and_bodiless_or_partial_statuses_leave_as_they_are():
    # no route of the daemon answers so today; the rule is pinned where the edge applies it
    json_type = (b"content-type", b"application/json")
    body = b'{"n": "' + b"x" * (4 * MIN_SIZE) + b'"}'
    for answer in (Answer(200, (json_type, (b"cache-control", b"max-age=5, No-Transform")), body),
                   Answer(206, (json_type, (b"content-range", b"bytes 0-9/100")), body),
                   Answer(204, (json_type,)), Answer(304, (json_type, (b"etag", b'"a"')))):
        assert negotiated(answer, "br, gzip") is answer, answer.status
    assert negotiated(Answer(200, (json_type,), body), "br, gzip").header(b"content-encoding") == b"br"
