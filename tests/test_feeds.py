"""Atom, RSS and JSON Feed of the newest releases.

Atom and RSS are parsed by a real feed parser (``feedparser``, strict mode: ``bozo`` is any
well-formedness problem).  feedparser 6.0 does not read JSON Feed, so that one is checked
against the JSON Feed 1.1 specification's required structure with ``jsonschema``.
"""

from __future__ import annotations

import datetime as dt

import feedparser
import jsonschema

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon

FORMATS = ("atom", "rss", "json")
VERSIONS = {"atom": "atom10", "rss": "rss20", "json": "json11"}


# JSON Feed 1.1 (https://jsonfeed.org/version/1.1): what a reader relies on
_AUTHOR = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
JSON_FEED_1_1 = {
    "type": "object", "required": ["version", "title", "items"],
    "properties": {
        "version": {"const": "https://jsonfeed.org/version/1.1"}, "title": {"type": "string"},
        "home_page_url": {"type": "string", "format": "uri"}, "feed_url": {"type": "string", "format": "uri"},
        "items": {"type": "array", "items": {
            "type": "object", "required": ["id"], "anyOf": [{"required": ["content_text"]}, {"required": ["content_html"]}],
            "properties": {"id": {"type": "string"}, "url": {"type": "string", "format": "uri"},
                           "title": {"type": "string"}, "image": {"type": "string", "format": "uri"},
                           "date_published": {"type": "string", "format": "date-time"},
                           "date_modified": {"type": "string", "format": "date-time"},
                           "authors": {"type": "array", "items": _AUTHOR},
                           "tags": {"type": "array", "items": {"type": "string"}}}}},
    },
}


def parsed(response) -> feedparser.FeedParserDict:
    """Atom/RSS through feedparser; JSON Feed validated, then shaped like feedparser's answer."""
    assert response.status_code == 200, response.text
    ctype = response.headers["content-type"]
    if ctype.startswith("application/feed+json"):
        body = response.json()
        jsonschema.Draft202012Validator(JSON_FEED_1_1, format_checker=jsonschema.FormatChecker()).validate(body)
        entries = [feedparser.FeedParserDict(
            id=i["id"], title=i["title"], link=i["url"], authors=[feedparser.FeedParserDict(a) for a in i["authors"]],
            published_parsed=dt.datetime.fromisoformat(i["date_published"]).timetuple(),
            image={"href": i.get("image")}) for i in body["items"]]
        return feedparser.FeedParserDict(version="json11", entries=entries,
                                         feed=feedparser.FeedParserDict(title=body["title"]))
    feed = feedparser.parse(response.content, response_headers={"content-type": ctype})
    assert not feed.bozo, feed.get("bozo_exception")
    return feed


async def test_each_format_parses_with_ids_titles_artists_dates_covers_and_links(db, db_url):
    await store(db, release(1, title="Aavesham", artist="Sushin Shyam"),
                release(2, language="hi", kind="song", day=dt.date(2026, 3, 5)),
                release(3, day=None, title="Undated & <odd>"))
    await db.execute("UPDATE releases SET image = 'https://img.test/' || external_id || '.jpg' "
                     "WHERE external_id = 'x1'")
    async with running_daemon(api_config(db_url, public_url="https://vibed.example")) as api:
        for suffix in FORMATS:
            feed = parsed(await api.client.get(f"/feeds/new-releases.{suffix}"))
            assert feed.version == VERSIONS[suffix]
            by_title = {e.title: e for e in feed.entries}
            assert list(by_title) == ["Title 2", "Aavesham", "Undated & <odd>"]  # the listing's order
            one = by_title["Aavesham"]
            assert one.id == "tag:vibed,2026:release/jiosaavn/x1"
            assert one.link == "https://example.test/1"
            assert [a.name for a in one.authors] == ["Sushin Shyam"]
            assert one.published_parsed[:3] == (2026, 3, 1)
            cover = one.get("media_thumbnail", [{}])[0].get("url") or one.get("image", {}).get("href")
            assert cover == "https://img.test/x1.jpg", one
            assert feed.feed.title == "vibed: new releases"
            if suffix != "json":
                assert any(link.get("rel") == "self" and link.href == f"https://vibed.example/feeds/new-releases.{suffix}"
                           for link in feed.feed.links)


async def test_the_list_filters_apply_and_a_bad_one_is_a_400_naming_it(db, db_url):
    await store(db, release(1), release(2, language="hi"), release(3, kind="song"),
                release(4, source="spotify", language="ml"))
    async with running_daemon(api_config(db_url)) as api:
        for suffix in FORMATS:
            feed = parsed(await api.client.get(f"/feeds/new-releases.{suffix}",
                                               params={"language": "ml", "kind": "album", "source": "jiosaavn"}))
            assert [e.id.rsplit("/", 1)[1] for e in feed.entries] == ["x1"]
            assert "(ml jiosaavn albums)" in feed.feed.title
            bad = await api.client.get(f"/feeds/new-releases.{suffix}", params={"language": "xx"})
            assert bad.status_code == 400 and "language" in bad.json()["detail"]
            assert (await api.client.get(f"/feeds/new-releases.{suffix}", params={"limit": "101"})).status_code == 400
            empty = await api.client.get(f"/feeds/new-releases.{suffix}?since=")
            assert empty.status_code == 400 and empty.json()["detail"].startswith("since:")


async def test_at_most_100_entries(db, db_url):
    await store(db, *(release(n) for n in range(130)))
    async with running_daemon(api_config(db_url)) as api:
        for suffix in FORMATS:
            assert len(parsed(await api.client.get(f"/feeds/new-releases.{suffix}")).entries) == 100
        assert len(parsed(await api.client.get("/feeds/new-releases.atom?limit=7")).entries) == 7


async def test_ids_and_bytes_are_stable_across_a_restart_and_conditional_get_gives_304(db, db_url):
    await store(db, release(1), release(2, kind="song"))
    before: dict[str, tuple[list[str], str]] = {}
    public = "https://feeds.example"  # links come from VIBED_PUBLIC_URL, not from the (changing) port
    async with running_daemon(api_config(db_url, public_url=public)) as api:
        for suffix in FORMATS:
            r = await api.client.get(f"/feeds/new-releases.{suffix}")
            before[suffix] = ([e.id for e in parsed(r).entries], r.headers["ETag"])
            assert r.headers["Cache-Control"] == "max-age=5"
            again = await api.client.get(f"/feeds/new-releases.{suffix}", headers={"If-None-Match": r.headers["ETag"]})
            assert again.status_code == 304 and again.content == b"" and again.headers["ETag"] == r.headers["ETag"]
            assert "x-vibed-edge-cache" not in r.headers
    async with running_daemon(api_config(db_url, public_url=public)) as api:  # a new daemon, the same database
        for suffix in FORMATS:
            r = await api.client.get(f"/feeds/new-releases.{suffix}")
            assert ([e.id for e in parsed(r).entries], r.headers["ETag"]) == before[suffix]
        await store(db, release(3))
        api.runtime.services.edge.cache.enabled = False  # no event was delivered: read the app's answer
        r = await api.client.get("/feeds/new-releases.atom", headers={"If-None-Match": before["atom"][1]})
        assert r.status_code == 200 and [e.id for e in parsed(r).entries][-1] == before["atom"][0][-1]
        assert len(parsed(r).entries) == 3


async def test_the_page_links_every_feed(db_url):
    async with running_daemon(api_config(db_url)) as api:
        page = (await api.client.get("/")).text
        for suffix, media in (("atom", "application/atom+xml"), ("rss", "application/rss+xml"),
                              ("json", "application/feed+json")):
            assert f'<link rel="alternate" type="{media}"' in page and f'href="/feeds/new-releases.{suffix}"' in page
            assert (await api.client.get(f"/feeds/new-releases.{suffix}")).status_code == 200


async def test_a_search_term_with_control_characters_still_gives_well_formed_xml(db, db_url):
    # regression: schemathesis found q=%15… made lxml refuse the feed's title (a 500)
    await store(db, release(1, title="Sun\x02rise"))
    async with running_daemon(api_config(db_url)) as api:
        for suffix in FORMATS:
            feed = parsed(await api.client.get(f"/feeds/new-releases.{suffix}", params={"q": "\x15\x02 \U000f2b1b"}))
            assert feed.entries == [] and feed.feed.title.startswith("vibed: new releases")


async def test_an_edited_title_is_never_hidden_from_a_reader_that_sends_only_if_modified_since(db, db_url):
    """No stored time moves with every change of a feed's bytes, so a feed has no Last-Modified
    and If-Modified-Since never answers 304 for content the reader has not seen."""
    await store(db, release(1, title="Before"))
    async with running_daemon(api_config(db_url)) as api:
        api.runtime.services.edge.cache.enabled = False  # an edit is no event: read the app's answer
        for suffix in FORMATS:
            assert (await api.client.get(f"/feeds/new-releases.{suffix}")).status_code == 200
        await db.execute("UPDATE releases SET title = 'After' WHERE external_id = 'x1'")  # within the same second
        for suffix in FORMATS:
            later = "Sun, 01 Jan 2040 00:00:00 GMT"  # any date a reader could have: nothing to compare it with
            r = await api.client.get(f"/feeds/new-releases.{suffix}", headers={"If-Modified-Since": later})
            assert r.status_code == 200 and [e.title for e in parsed(r).entries] == ["After"]
            assert "Last-Modified" not in r.headers and r.headers["ETag"]


async def test_the_self_link_names_the_filter_and_the_limit_it_was_asked_with(db, db_url):
    await store(db, *(release(n) for n in range(1, 4)))
    async with running_daemon(api_config(db_url, public_url="https://vibed.example")) as api:
        for suffix in FORMATS:
            r = await api.client.get(f"/feeds/new-releases.{suffix}?limit=2&language=ml")
            assert len(parsed(r).entries) == 2
            want = f"https://vibed.example/feeds/new-releases.{suffix}?language=ml&limit=2"
            if suffix == "json":
                assert r.json()["feed_url"] == want
            else:
                assert [link.href for link in parsed(r).feed.links if link.get("rel") == "self"] == [want]
