"""Caps on what comes from upstream: an answer's decoded size, and how much of an item is stored.

A gzip bomb (64 KB on the wire, 64 MiB decoded) is dropped once its decoded bytes pass the cap —
streamed and decoded chunk by chunk, never held whole — and reported as upstream trouble; the
next answer is read as usual.  A 200,000-character title (served by the simulator) and a raw item
with 20,000 keys or a 20,000-item list (through each source's item builder) are cut, an overlong id is skipped, and
each is one ``release_capped`` line.
"""

from __future__ import annotations

import json
import tracemalloc

import httpx

from tests.daemon_inproc import running_daemon
from tests.pipeline_support import captured_logs, daemon_config, events_named
from tests.sim_fixtures import SimControl
from vibed.sources import jiosaavn_items, spotify_items
from vibed.sources.bounds import RAW_ITEMS, RAW_KEYS, TEXT_MAX
from vibed.sources.jiosaavn import JioSaavnSource
from vibed.vocab.messages import Failure, FailureKind, Page

CAP = 1024 * 1024


async def test_a_gzip_bomb_is_dropped_past_the_decoded_cap_as_upstream_trouble(
        sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    source = JioSaavnSource(upstream_client, sim.url, max_body=CAP)
    await sim.inject("gzip_bomb", language="ml", count=1)
    tracemalloc.start()  # the bound is on memory, not only on the outcome: a cap checked after
    try:  # inflating a whole network chunk (about 1,000 times its size here) still ends in a Failure
        bombed = await source.fetch_page("ml", 1)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(bombed, Failure), f"a 64 MiB answer was read whole: {bombed!r:.200}"
    assert bombed.kind is FailureKind.UPSTREAM_ERROR and bombed.status == 200
    assert f"larger than {CAP} bytes decoded (VIBED_UPSTREAM_MAX_BODY)" in bombed.detail
    assert peak < 8 * CAP, f"{peak} bytes held at once reading a bomb capped at {CAP}"  # ~2.5 MB; unbounded: 140 MB
    again = await source.fetch_page("ml", 1)  # the fault is spent: an ordinary page, read whole
    assert isinstance(again, Page) and len(again.releases) > 40


async def test_the_daemon_drops_an_answer_past_its_configured_cap_as_a_logged_fetch_error(
        db_url: str, sim_url: str, sim: SimControl) -> None:
    # a 5 MB page, under the 8 MiB default, over the 1 MiB this daemon is configured with
    async with running_daemon(daemon_config(db_url, sim_url, languages="ml", upstream_max_body=CAP)) as daemon:
        await sim.inject("huge", language="ml", count=1)
        with captured_logs() as logs:
            progress = await daemon.round()
    [error] = events_named(logs, "fetch_error", language="ml")
    assert error["kind"] == "upstream_error" and "VIBED_UPSTREAM_MAX_BODY" in error["detail"]
    assert progress.errors == 1


async def test_a_200000_character_title_is_stored_cut_with_a_logged_reason(
        sim: SimControl, upstream_client: httpx.AsyncClient) -> None:
    [added] = await sim.release(language="ml", kind="album", title="Long " + "o" * 200_000)
    with captured_logs() as logs:
        page = await JioSaavnSource(upstream_client, sim.url).fetch_page("ml", 1)
    assert isinstance(page, Page)
    [long] = [r for r in page.releases if r.external_id == added["id"]]
    assert long.title == ("Long " + "o" * 200_000)[:TEXT_MAX]
    assert all(len(r.title) <= TEXT_MAX for r in page.releases)
    [line] = events_named(logs, "release_capped")
    assert (line["external_id"], line["action"]) == (added["id"], "cut")
    assert "title: 200005 characters, cut to 1000" in line["reason"]


def test_raw_items_with_20000_keys_are_cut_and_overlong_ids_skipped_by_every_source() -> None:
    wide = {f"k{n}": n for n in range(20_000)}
    saavn = {"id": "abc", "type": "album", "title": "T", "language": "malayalam", "more_info": wide}
    spotify = {"id": "xyz", "name": "T", "album_type": "album", "release_date": "2026-03-01",
               "release_date_precision": "day", "available_markets": ["IN"] * 20_000, **wide}
    with captured_logs() as logs:
        cut = [jiosaavn_items.release(saavn, language_code="ml", language_name="malayalam"),
               spotify_items.release(spotify)]
        skipped = [jiosaavn_items.release({**saavn, "id": "i" * 5000}, language_code="ml",
                                          language_name="malayalam"),
                   spotify_items.release({**spotify, "id": "i" * 5000})]
    assert cut[0] is not None and len(cut[0].raw["more_info"]) == RAW_KEYS
    assert cut[1] is not None and len(cut[1].raw) == RAW_KEYS
    assert cut[1].raw["available_markets"] == ["IN"] * RAW_ITEMS  # a list: its first RAW_ITEMS kept
    assert len(json.dumps(cut[0].raw)) < 10_000 and len(json.dumps(cut[1].raw)) < 10_000
    assert skipped == [None, None]
    lines = events_named(logs, "release_capped")
    assert [(line["source"], line["action"]) for line in lines] == [
        ("jiosaavn", "cut"), ("spotify", "cut"), ("jiosaavn", "skipped"), ("spotify", "skipped")]
    assert "raw.more_info: 20000 keys, cut to 200" in lines[0]["reason"]
    assert "raw: 20006 keys, cut to 200" in lines[1]["reason"]
    assert "raw.available_markets: 20000 items, cut to 500" in lines[1]["reason"]
    assert "cannot be cut" in lines[2]["reason"] and len(lines[2]["external_id"]) < 50
