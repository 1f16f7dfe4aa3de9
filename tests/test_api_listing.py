"""GET /api/new-releases and GET /api/releases/{id} against a live daemon and a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import trio

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon
from tests.http_wire import AnswerReader, raw_clients, request


async def _all_pages(client, params: dict) -> tuple[list[dict], int]:
    seen, pages, cursor = [], 0, None
    while True:
        r = await client.get("/api/new-releases", params={**params, **({"cursor": cursor} if cursor else {})})
        assert r.status_code == 200, r.text
        body = r.json()
        seen += body["data"]
        pages += 1
        cursor = body["next_cursor"]
        if cursor is None:
            return seen, pages


async def test_listing_is_newest_first_with_undated_last_and_pages_cover_every_row_once(db, db_url):
    days = [dt.date(2026, 3, 1), None, dt.date(2026, 2, 1), dt.date(2026, 3, 5)]
    await store(db, *(release(n, day=days[n % 4]) for n in range(23)))
    async with running_daemon(api_config(db_url)) as api:
        rows, pages = await _all_pages(api.client, {"limit": 5})
    assert pages == 5 and len(rows) == 23
    assert len({r["id"] for r in rows}) == 23  # nothing twice, nothing skipped
    dates = [r["release_date"] for r in rows]
    dated = [d for d in dates if d is not None]
    assert dated == sorted(dated, reverse=True) and len(dated) == 17 and dates[17:] == [None] * 6
    # ties on the date: the later first_seen (then the higher id) first
    same_day = [r for r in rows if r["release_date"] == "2026-03-05"]
    assert [r["id"] for r in same_day] == sorted((r["id"] for r in same_day), reverse=True)


async def test_filters_language_source_kind_since_and_search(db, db_url):
    await store(db,
                release(1, language="ml", title="Aavesham"), release(2, language="hi", kind="song"),
                release(3, language="ta", source="spotify", artist="Anirudh"),
                release(4, language="ml", day=dt.date(2025, 1, 1), title="100% Love_Song"),
                release(5, language="ml", title="It's \"quoted\"; DROP TABLE releases; --"))
    async with running_daemon(api_config(db_url)) as api:
        async def ids(**params) -> set[int]:
            r = await api.client.get("/api/new-releases", params=params)
            assert r.status_code == 200, r.text
            return {int(x["external_id"][1:]) for x in r.json()["data"]}

        assert await ids(language="ml") == {1, 4, 5}
        assert await ids(language="hi,ta") == {2, 3}
        assert await ids(language=["hi", "ml"], kind="album") == {1, 4, 5}
        assert await ids(source="spotify") == {3}
        assert await ids(kind="song") == {2}
        assert await ids(since="2026-01-01", language="ml") == {1, 5}
        assert await ids(q="aaVESH") == {1}
        assert await ids(q="anirudh") == {3}  # artist names too
        assert await ids(q="100%") == {4} and await ids(q="%") == {4}  # % is text, not a wildcard
        assert await ids(q="e_S") == {4}  # so is _
        assert await ids(q="It's \"quoted\"; DROP TABLE releases; --") == {5}
        assert await ids(q="'; DROP TABLE releases; --") == set()
        assert await ids(q="nothing like this") == set()


async def test_representation_is_row_json_and_one_release_carries_raw(db, db_url):
    await store(db, release(7, title="Bougainvillea"))
    async with running_daemon(api_config(db_url)) as api:
        listed = (await api.client.get("/api/new-releases")).json()["data"][0]
        one = await api.client.get(f"/api/releases/{listed['id']}")
        missing = await api.client.get("/api/releases/999999")
        bad = await api.client.get("/api/releases/abc")
        huge = await api.client.get("/api/releases/99999999999999999999999")
    assert set(listed) == {"id", "source", "external_id", "kind", "title", "artists", "artist_ids", "album", "language",
                           "release_date", "year", "image", "url", "explicit", "first_seen"}
    assert listed["artists"] == ["Sushin Shyam"] and listed["first_seen"].endswith("Z")
    assert one.status_code == 200 and one.json() == {**listed, "raw": {"id": "x7", "n": 7, "note": "upstream item"}}
    assert missing.status_code == 404 and missing.json()["error"] == "not_found"
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_parameter"
    assert huge.status_code == 400


async def test_etag_gives_304_until_the_result_changes_and_the_cache_lifetime_bounds_a_stale_page(db, db_url):
    await store(db, release(1))
    async with running_daemon(api_config(db_url, edge_cache_ttl=0.2)) as api:
        first = await api.client.get("/api/new-releases", params={"language": "ml", "limit": 25})
        etag = first.headers["ETag"]
        assert first.headers["Cache-Control"] == "max-age=5"
        again = await api.client.get("/api/new-releases", params={"language": "ml", "limit": 25},
                                     headers={"If-None-Match": f'"other", W/{etag}'})
        assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == etag
        await store(db, release(2))
        # stored behind the daemon's back (no event reached its hub): the cached page may serve
        # until the cache's short TTL ends; through the daemon, the new event's id ends it at once
        cache = api.runtime.services.edge.cache
        assert cache.ttl == 0.2  # the test's VIBED_EDGE_CACHE_TTL, not the default 2 s
        await trio.sleep(cache.ttl + 0.05)  # the lifetime itself is what passes: a late wake-up only helps
        changed = await api.client.get("/api/new-releases", params={"language": "ml", "limit": 25},
                                       headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag and len(changed.json()["data"]) == 2


async def test_a_cached_answer_is_byte_identical_to_the_app_s_apart_from_date(db_url, db):
    await store(db, release(1), release(2, language="hi"))
    targets = ["/api/new-releases?language=ml&limit=25", "/api/releases/1", "/openapi.json", "/"]

    async def raw_answers(api: Any, extra: str = "") -> list[bytes]:
        async with raw_clients(api.port) as connect:
            stream = await connect()
            out = []
            for target in targets:
                await stream.send_all(request("GET", target, *([extra] if extra else [])))
                reader = AnswerReader()
                reader.asked("GET")
                data = b""
                while reader.next_answer() is None:
                    chunk = await stream.receive_some(65536)
                    assert chunk, f"the connection closed before answering {target} (kept alive)"
                    data += chunk
                    reader.conn.receive_data(chunk)
                out.append(b"\r\n".join(line for line in data.split(b"\r\n") if not line.startswith(b"date: ")))
            return out

    # no per-IP limit here: RateLimit-Remaining rightly differs from one request to the next
    # (test_api_protection shows cached answers counting and carrying it)
    async with running_daemon(api_config(db_url, cors_origins="https://app.example", api_rate_limit=0)) as api:
        cache = api.runtime.services.edge.cache
        origin = "Origin: https://app.example"
        filled = await raw_answers(api, origin)  # the app answers, and the edge keeps the answers
        hits_before = cache.statistics().hits
        held = await raw_answers(api, origin)
        assert cache.statistics().hits == hits_before + len(targets)  # the app did not run
        cache.enabled = False
        uncached = await raw_answers(api, origin)
        etag = next(line for line in held[0].split(b"\r\n") if line.startswith(b"etag: "))[6:].decode()
        cache.enabled = True
        conditional_held = await raw_answers(api, f"If-None-Match: {etag}")
        cache.enabled = False
        conditional_app = await raw_answers(api, f"If-None-Match: {etag}")
    assert held == uncached == filled
    assert b"access-control-allow-origin: https://app.example" in held[0]
    assert conditional_held[0] == conditional_app[0] and conditional_held[0].startswith(b"HTTP/1.1 304 ")
