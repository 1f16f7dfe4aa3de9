"""Normalisation is a firewall: hostile upstream values never reach the database or the page,
and one release the database refuses never costs the others."""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any

import pytest
import trio

from tests.pipeline_support import captured_logs, events_named
from vibed.pipeline.fetcher import BackoffPolicy
from vibed.pipeline.writer import Writer
from vibed.sources import firewall, jiosaavn_items, spotify_items
from vibed.store.postgres import open_database
from vibed.store.releases import is_new
from vibed.vocab.backoff import RETRY_AFTER_CAP, parse_retry_after
from vibed.vocab.messages import Page, Release, WriteRequest, WriteResult


def hostile_item(**more: Any) -> dict[str, Any]:
    return {
        "id": "666", "type": "album", "language": "malayalam", "year": "2099",
        "title": "Evil\x00 Title\x1b[31m\ud800", "perma_url": "javascript:alert(1)",
        "image": "data:image/png;base64,AAAA",
        "more_info": {"release_date": "2099-01-01", "note": "nul\x00inside", "deep": {"x\x00": [1.5, "\x07"]},
                      "artistMap": {"primary_artists": [{"id": "1", "name": "A\x00rtist"}]}},
        **more,
    }


def normalise(item: dict[str, Any]) -> Release | None:
    return jiosaavn_items.release(item, language_code="ml", language_name="malayalam")


@pytest.mark.parametrize(("value", "seconds"), [
    ("inf", RETRY_AFTER_CAP), ("Infinity", RETRY_AFTER_CAP), ("1e12", RETRY_AFTER_CAP), ("-5", 0.0),
    ("nan", None), ("soon", None), ("120", 120.0), ("Fri, 01 Jan 2100 00:00:00 GMT", RETRY_AFTER_CAP),
])
def test_retry_after_is_finite_and_capped(value: str, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_backoff_never_exceeds_a_day_whatever_it_is_given() -> None:
    import random

    policy = BackoffPolicy()
    for asked in (math.inf, 1e12, math.nan, -1.0, None):
        delay = policy.delay(10_000, asked, random.Random(1))
        assert math.isfinite(delay) and 0 <= delay <= 86400


def test_a_hostile_item_is_cleaned_not_stored_raw() -> None:
    release = normalise(hostile_item())
    assert release is not None
    assert release.title == "Evil Title[31m"
    assert [a.name for a in release.artists] == ["Artist"]
    assert release.url is None and release.image is None  # only http(s) URLs
    assert release.release_date is None and release.year is None  # 2099 means nothing
    text = json.dumps(release.raw)
    assert "\\u0000" not in text and "\\ud800" not in text and "\\u0007" not in text
    assert release.raw["more_info"]["note"] == "nulinside"


@pytest.mark.parametrize("url", ["javascript:alert(1)", "data:text/html,x", "JAVASCRIPT:x", "//evil",
                                 "https://", "ftp://x/y", "http://a b/", "vbscript:x", "https://[::1/"])
def test_only_http_urls_pass(url: str) -> None:
    assert firewall.safe_url(url) is None


def test_web_urls_pass_unchanged() -> None:
    assert firewall.safe_url("https://www.jiosaavn.com/album/x?y=1") == "https://www.jiosaavn.com/album/x?y=1"


def test_month_and_year_precision_are_new_only_while_their_period_includes_today() -> None:
    today = dt.date(2026, 4, 2)
    march = spotify_items.release({"id": "m", "name": "March", "album_type": "album",
                                   "release_date": "2026-03", "release_date_precision": "month"})
    april = spotify_items.release({"id": "a", "name": "April", "album_type": "album",
                                   "release_date": "2026-04", "release_date_precision": "month"})
    last_year = spotify_items.release({"id": "y", "name": "Y", "album_type": "album",
                                       "release_date": "2025", "release_date_precision": "year"})
    assert march is not None and april is not None and last_year is not None
    assert not is_new(march, today, 7)  # two days into April, March is not new
    assert is_new(april, today, 7)
    assert not is_new(last_year, today, 7)


def clean(external_id: str, title: str = "Clean") -> Release:
    return Release(source="jiosaavn", external_id=external_id, kind="album", title=title, language="ml",
                   release_date=dt.date.today())


async def write(writer: Writer, releases: list[Release]) -> tuple[WriteResult, tuple[Any, ...]]:
    send, receive = trio.open_memory_channel[WriteResult](1)
    page = Page("jiosaavn", "ml", 1, tuple(releases), last_page=True)
    events = await writer.write([WriteRequest(page, send)])
    return receive.receive_nowait(), events


async def test_one_poisoned_release_is_skipped_and_the_rest_stored(db) -> None:
    # past the firewall (e.g. a future source that forgets it): PostgreSQL refuses NUL in text
    poisoned = clean("bad", title="nul\x00title")
    writer = Writer(db)
    with captured_logs() as logs:
        result, events = await write(writer, [clean("1"), poisoned, clean("2")])
    assert result.error is None and result.first_seen == 2 and len(events) == 2
    stored = {r["external_id"] for r in await db.fetch("SELECT external_id FROM releases")}
    assert stored == {"1", "2"}
    assert events_named(logs, "release_skipped", external_id="bad")
    assert events_named(logs, "store_batch_retried")


async def test_a_lock_timeout_fails_the_batch_whole_and_skips_no_release(db, db_url) -> None:
    # "not now" (55P03) is an outage for the writer, not bad data: the fetcher hears so and the pages
    # come again; a release skipped as bad would only come back when a later round re-paged it
    name = await db.fetchval("SELECT current_database()")
    await db.execute(f"ALTER DATABASE \"{name}\" SET lock_timeout = '100ms'")
    holder = await db.acquire()
    try:
        await db.run(holder.execute, "BEGIN; LOCK TABLE releases IN EXCLUSIVE MODE")
        async with open_database(db_url, pool_size=1) as waiting:  # a new session: the 100 ms applies
            with captured_logs() as logs:
                result, events = await write(Writer(waiting), [clean("1"), clean("2")])
        await db.run(holder.execute, "ROLLBACK")
    finally:
        await db.release(holder)
    assert result.error is not None and result.error.startswith("DatabaseUnavailable: the database could not")
    assert (result.first_seen, events) == (0, ())
    assert [e["error"][:22] for e in events_named(logs, "store_error")] == ["DatabaseUnavailable: t"]
    assert events_named(logs, "release_skipped") == [] and events_named(logs, "store_batch_retried") == []
    again, events = await write(Writer(db), [clean("1"), clean("2")])  # the lock gone, the same pages
    assert (again.error, again.first_seen, len(events)) == (None, 2, 2)


async def test_hostile_items_are_stored_clean(db) -> None:
    release = normalise(hostile_item())
    assert release is not None
    result, events = await write(Writer(db), [release, clean("ok")])
    assert result.error is None and result.first_seen == 2
    row = await db.fetchrow("SELECT title, url, image, release_date, raw FROM releases WHERE external_id = '666'")
    assert row["title"] == "Evil Title[31m" and row["url"] is None and row["image"] is None
    assert row["release_date"] is None


def test_json_nested_past_the_parsers_stack_is_an_upstream_error_not_a_crash() -> None:
    import httpx

    from vibed.sources.http import Trouble, decode_json
    from vibed.vocab.messages import FailureKind

    deep = b"[" * 200_000 + b"]" * 200_000
    trouble = decode_json(httpx.Response(200, content=deep, headers={"content-type": "application/json"}), "X")
    assert isinstance(trouble, Trouble) and trouble.kind is FailureKind.UPSTREAM_ERROR
    assert "nested too deeply" in trouble.detail


async def test_rows_stored_before_the_firewall_are_cleaned_by_the_migration(db) -> None:
    from pathlib import Path

    release = Release(source="jiosaavn", external_id="old", kind="album", title="Old\x07", language="ml",
                      release_date=dt.date(2099, 1, 1), year=2099, url="javascript:alert(1)",
                      image="data:image/png;base64,AA")
    await write(Writer(db, window_days=36500), [release])
    await db.execute("UPDATE events SET payload = payload || '{\"url\": \"javascript:alert(1)\"}'")
    sql = (Path(__file__).parents[1] / "vibed" / "schema" / "0006_firewall_existing_rows.sql").read_text()
    await db.execute(sql)
    row = await db.fetchrow("SELECT title, url, image, release_date, year FROM releases WHERE external_id = 'old'")
    assert dict(row) == {"title": "Old", "url": None, "image": None, "release_date": None, "year": None}
    assert await db.fetchval("SELECT count(*) FROM events WHERE payload->>'url' IS NOT NULL") == 0
