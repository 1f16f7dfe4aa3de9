"""The read endpoints the edge answers itself (vibed/http/reads.py) answer byte for byte as the app
would: the same status line, headers in the same order and body, for valid and hostile targets,
errors included, to GET and HEAD, compressed or not.  Only ``Date`` may differ."""

from __future__ import annotations

import re

import pytest

from tests.api_support import api_config, release, store
from tests.daemon_inproc import InProcessDaemon, running_daemon
from tests.http_wire import raw_clients, read_all
from vibed.store.postgres import open_database

LONG_Q = "x" * 201
TARGETS = [
    # the listing: defaults, filters, paging, and every parameter gone wrong
    "/api/new-releases",
    "/api/new-releases?language=ml&limit=3",
    "/api/new-releases?language=ml,hi&kind=album&source=jiosaavn&since=2026-01-01",
    "/api/new-releases?q=Title%201",
    "/api/new-releases?q=%E0%B4%AE%E0%B4%B2",  # Malayalam text
    "/api/new-releases?q=%25_%5C'%22",  # LIKE metacharacters and quotes
    "/api/new-releases?artist=1",
    "/api/new-releases?limit=0",
    "/api/new-releases?limit=101",
    "/api/new-releases?limit=abc",
    "/api/new-releases?limit=1&limit=2",
    "/api/new-releases?since=2026-02-30",
    "/api/new-releases?since=yesterday",
    "/api/new-releases?language=xx",
    "/api/new-releases?kind=podcast",
    "/api/new-releases?artist=-1",
    "/api/new-releases?cursor=bogus",
    "/api/new-releases?cursor=QUJD.QUJD",
    f"/api/new-releases?q={LONG_Q}",
    "/api/new-releases?q=a%00b",
    "/api/new-releases?q=%FF%FE",  # not UTF-8
    "/api/new-releases?q=%E0%B4",  # a cut UTF-8 sequence
    "/api/new-releases?&&=&limit=",
    "/api/new%2Dreleases?limit=2",  # percent-encoded path
    # one release
    "/api/releases/1",
    "/api/releases/999999",
    "/api/releases/0",
    "/api/releases/abc",
    "/api/releases/99999999999999999999",
    "/api/releases/%31",
    "/api/releases/1?x=%FF",
    # artists
    "/api/artists",
    "/api/artists?q=sushin&limit=2",
    "/api/artists?limit=500",
    "/api/artists/1",
    "/api/artists/1?limit=2",
    "/api/artists/0",
    "/api/artists/abc",
    "/api/artists/999999",
    # feeds
    "/feeds/new-releases.atom",
    "/feeds/new-releases.rss?language=ml&limit=5",
    "/feeds/new-releases.json?q=Title",
    "/feeds/new-releases.json?limit=0",
    "/feeds/new-releases.atom?language=zz",
]
# not read endpoints: the app answers them on both sides (the edge finds no row for them)
NOT_READS = ["/api/releases/1/", "/api/releases/", "/api/new-releases/", "/api//new-releases"]


async def raw(api: InProcessDaemon, method: str, target: str, *headers: str) -> bytes:
    """The whole answer, as bytes, to one request on its own connection; ``Date`` taken out."""
    async with raw_clients(api.port) as connect:
        stream = await connect()
        lines = [f"{method} {target} HTTP/1.1", "Host: t", "Connection: close", *headers]
        await stream.send_all(("\r\n".join(lines) + "\r\n\r\n").encode())
        data, closed = await read_all(stream)
    assert closed and data.startswith(b"HTTP/1.1 "), (target, data[:200])
    return re.sub(rb"\r\ndate: [^\r]*", b"", data, count=1)


async def both_ways(api: InProcessDaemon, method: str, target: str, *headers: str) -> tuple[bytes, bytes]:
    """(the edge's answer, the app's answer) to the same request."""
    reads = api.runtime.services.reads
    assert reads is not None
    answers = []
    for enabled in (True, False):
        reads.enabled = enabled
        answers.append(await raw(api, method, target, *headers))
    reads.enabled = True
    return answers[0], answers[1]


@pytest.fixture
async def api(db_url):
    async with open_database(db_url, pool_size=2) as db:
        await store(db, *(release(n, language="hi" if n % 4 == 0 else "ml", title=f"Title {n} 'മല'")
                          for n in range(1, 40)))
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as daemon:  # no RateLimit-Remaining to differ
        daemon.runtime.services.edge.cache.enabled = False  # every request runs the endpoint
        yield daemon


async def test_every_read_answers_byte_for_byte_as_the_app(api):
    statuses = set()
    for target in TARGETS:
        for method in ("GET", "HEAD"):
            edge, app = await both_ways(api, method, target)
            assert edge == app, (method, target, edge[:400], app[:400])
            statuses.add(int(edge.split(b" ", 2)[1]))
    assert statuses == {200, 400, 404}  # the table reaches answers and errors alike


async def test_compressed_and_conditional_reads_answer_as_the_app(api):
    for target in ("/api/new-releases?limit=30", "/feeds/new-releases.atom", "/feeds/new-releases.json"):
        edge, app = await both_ways(api, "GET", target, "Accept-Encoding: gzip, br")
        assert edge == app and b"\r\ncontent-encoding: br\r\n" in edge.lower(), target
        etag = re.search(rb"\r\netag: ([^\r]*)", edge, re.I)
        assert etag is not None
        edge, app = await both_ways(api, "GET", target, "Accept-Encoding: br", f"If-None-Match: {etag[1].decode()}")
        assert edge == app and edge.startswith(b"HTTP/1.1 304 "), target


async def test_a_head_carries_the_headers_of_its_get(api):
    for target in ("/api/new-releases?limit=3", "/api/releases/1", "/api/new-releases?limit=0"):
        get, head = await raw(api, "GET", target), await raw(api, "HEAD", target)
        assert get.startswith(head) and head.endswith(b"\r\n\r\n"), target


async def test_a_target_that_is_no_read_endpoints_goes_to_the_app(api):
    reads = api.runtime.services.reads
    for target in NOT_READS:
        assert reads.find(target.encode()) is None, target
        edge, app = await both_ways(api, "GET", target)
        assert edge == app, target


async def test_a_database_outage_is_the_apps_503_on_the_edge_too(api):
    # the reads' connections are opened on first use: this daemon's go to a port nobody listens on
    api.runtime.services.context.database.reader.dsn = "postgresql://vibed@127.0.0.1:9/vibed"
    edge, app = await both_ways(api, "GET", "/api/new-releases")
    assert edge == app and edge.startswith(b"HTTP/1.1 503 ") and b"\r\nretry-after: 5\r\n" in edge.lower()


async def test_edge_reads_are_counted_under_the_apps_route(api):
    reads = api.runtime.services.reads
    later = reads.find(b"/api/releases/7?x=1")
    answer = await later()
    assert answer.header(b"x-vibed-route") == b"/api/releases/<release_id>"
