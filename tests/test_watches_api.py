"""Watches over HTTP against a live daemon: made with no account, managed only with their token (401
without it or with another, in the one error shape, the token never logged), names that match no artist
yet matched when the artist's first release is written (and the webhooks following the watch see that
release), the private feeds and the iCalendar files parsed back, and the OpenAPI document answered to."""

from __future__ import annotations

import datetime as dt
import io
import json
import re

import icalendar

from tests.api_support import api_config, conforms, release, store
from tests.daemon_inproc import running_daemon
from vibed.http.auth import issue_token
from vibed.logs import configure_logging
from vibed.logs.debug import parse_debug

SECRET = "watches-test-secret-0123456789abcdef"


async def test_only_the_token_manages_a_watch_and_it_is_never_logged(db, db_url):
    await store(db, release(1, artist="Sushin Shyam"))
    sushin = await db.fetchval("SELECT id FROM artists")
    logs = io.StringIO()
    configure_logging(debug=parse_debug("*"), stream=logs)
    try:
        async with running_daemon(api_config(db_url, api_rate_limit=1000)) as api:
            made = await api.client.post("/api/watches", json={"name": "mine", "artists": [sushin],
                                                               "languages": ["ml"]})
            watch, token = made.json()["id"], made.json()["token"]
            path = f"/api/watches/{watch}"
            doc = (await api.client.get("/openapi.json")).json()
            refused = {
                "no header": await api.client.get(path),
                "another scheme": await api.client.get(path, headers={"Authorization": f"Basic {token}"}),
                "another token": await api.client.get(path, headers={"Authorization": f"Bearer {token[:-1]}x"}),
                "patch, another token": await api.client.patch(path, json={"name": "x"},
                                                               headers={"Authorization": "Bearer nope"}),
                "delete, no header": await api.client.delete(path),
            }
            mine = {"Authorization": f"Bearer {token}"}
            read = await api.client.get(path, headers=mine)
            listed = [await api.client.get("/api/new-releases", params={"watch": watch})]
            changed = await api.client.patch(path, json={"name": "renamed", "kinds": ["song"]}, headers=mine)
            listed.append(await api.client.get("/api/new-releases", params={"watch": watch}))
            missing = await api.client.get(f"/api/watches/{'A' * 22}", headers=mine)
            malformed = await api.client.get("/api/watches/short", headers=mine)
            gone = await api.client.delete(path, headers=mine)
            after = [await api.client.get(path, headers=mine),
                     await api.client.get("/api/new-releases", params={"watch": watch}),
                     await api.client.get(f"/feeds/watch/{watch}.atom")]
    finally:
        configure_logging()
    assert made.status_code == 201 and made.headers["location"] == path and made.headers["cache-control"] == "no-store"
    assert re.fullmatch(r"[A-Za-z0-9_-]{22}", watch) and len(token) >= 43
    assert {k: (r.status_code, r.json()["error"]) for k, r in refused.items()} == dict.fromkeys(
        refused, (401, "unauthorized"))
    assert all(r.headers["www-authenticate"].startswith("Bearer") for r in refused.values())
    assert read.status_code == 200 and "token" not in read.json()
    assert read.json()["artists"] == [{"id": sushin, "name": "Sushin Shyam"}] and read.json()["languages"] == ["ml"]
    assert changed.json()["name"] == "renamed" and changed.json()["kinds"] == ["song"]
    assert changed.json()["languages"] == ["ml"] and changed.json()["artists"] == read.json()["artists"]
    # the edit shows at once on the next read (x1 is an album): no cache held the watch's answer
    assert [[r["external_id"] for r in page.json()["data"]] for page in listed] == [["x1"], []]
    assert listed[0].headers["cache-control"] == "private, no-cache"
    assert (missing.status_code, missing.json()["error"]) == (404, "not_found")
    assert (malformed.status_code, malformed.json()["error"]) == (404, "not_found")
    assert gone.status_code == 204 and [r.status_code for r in after] == [404, 404, 404]
    for response, method in ((made, "post"), (read, "get"), (changed, "patch"), (missing, "get"), (gone, "delete")):
        conforms(doc, "/api/watches" if method == "post" else "/api/watches/{id}", method, response)
    conforms(doc, "/api/watches/{id}", "get", refused["no header"])
    written = logs.getvalue()
    assert "answer_sent" in written and watch in written  # the debug lines were on
    assert token not in written and token[:20] not in written


async def test_names_wait_for_their_artist_and_are_matched_by_its_first_release(db, db_url):
    auth = {"Authorization": f"Bearer {issue_token(SECRET, ttl=600)}"}
    async with running_daemon(api_config(db_url, api_rate_limit=0, jwt_secret=SECRET)) as api:
        made = (await api.client.post("/api/watches", json={"artist_names": ["A. R. Rahman"]})).json()
        hook = (await api.client.post("/api/webhooks", headers=auth,
                                      json={"url": "https://example.com/h", "watch": made["id"]})).json()
        await store(db, release(1, artist="Sushin Shyam"))
        before = (await api.client.get("/api/new-releases", params={"watch": made["id"]})).json()["data"]
        await store(db, release(2, artist="A.R. Rahman"), release(3, artist="Sid Sriram"))
        after = (await api.client.get("/api/new-releases", params={"watch": made["id"]})).json()["data"]
        read = (await api.client.get(f"/api/watches/{made['id']}",
                                     headers={"Authorization": f"Bearer {made['token']}"})).json()
        outbox = await db.fetch("""SELECT e.payload->>'external_id' AS ext FROM webhook_outbox o
                                   JOIN events e ON e.id = o.event_id WHERE o.webhook_id = $1""", hook["id"])
        await api.client.delete(f"/api/watches/{made['id']}", headers={"Authorization": f"Bearer {made['token']}"})
        following = await api.client.get(f"/api/webhooks/{hook['id']}", headers=auth)
    assert following.status_code == 404  # a webhook that followed the watch goes with it
    assert made["pending"] == ["A. R. Rahman"] and made["artists"] == [] and before == []
    assert [r["external_id"] for r in after] == ["x2"]
    assert read["pending"] == [] and [a["name"] for a in read["artists"]] == ["A.R. Rahman"]
    # the release that introduced the artist was delivered: matched in the writer's own transaction
    assert [row["ext"] for row in outbox] == ["x2"]


async def test_bad_bodies_are_400s_that_name_the_field(db_url):
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        answers = [await api.client.post("/api/watches", content=json.dumps(body),
                                         headers={"Content-Type": "application/json"}) for body in (
            {"artists": [424242]}, {"artists": "12"}, {"artists": list(range(1, 52))},
            {"artist_names": [f"n{i}" for i in range(51)]}, {"artist_names": ["..."]},
            {"languages": ["xx"]}, {"name": "x" * 101}, {"color": "red"}, {"artist_names": ["\ud800"]})]
    assert [(r.status_code, r.json()["error"]) for r in answers] == [
        (400, "unknown_artist"), (400, "invalid_body"), (400, "too_many_artists"), (400, "too_many_artists"),
        (400, "bad_artist_name"), (400, "unknown_language"), (400, "invalid_body"), (400, "invalid_body"),
        (400, "invalid_body")]


async def test_the_number_of_watches_is_bounded(db_url):
    async with running_daemon(api_config(db_url, api_rate_limit=0, max_watches=2)) as api:
        answers = [await api.client.post("/api/watches", json={}) for _ in range(3)]
    assert [r.status_code for r in answers] == [201, 201, 503]
    assert answers[2].json()["error"] == "too_many_watches" and "VIBED_MAX_WATCHES" in answers[2].json()["detail"]


async def test_the_calendars_parse_one_all_day_event_per_release_with_stable_uids(db, db_url):
    await store(db, release(1, title="Aavesham", artist="Sushin Shyam", day=dt.date(2026, 3, 1)),
                release(2, title="Undated", artist="Sid Sriram", day=None),
                release(3, title="Hindi one", language="hi", artist="Sushin Shyam", day=dt.date(2026, 2, 20)))
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        sushin = (await api.client.get("/api/artists", params={"q": "sushin"})).json()["data"][0]["id"]
        watch = (await api.client.post("/api/watches", json={"name": "Sushin", "artists": [sushin]})).json()
        everything = await api.client.get("/feeds/new-releases.ics")
        again = await api.client.get("/feeds/new-releases.ics")
        malayalam = await api.client.get("/feeds/new-releases.ics", params={"language": "ml"})
        private = await api.client.get(f"/feeds/watch/{watch['id']}.ics")
        bad = [await api.client.get(f"/feeds/watch/{watch['id']}.pdf"),
               await api.client.get(f"/feeds/watch/{watch['id']}.ics", params={"language": "ml"}),
               await api.client.get(f"/feeds/watch/{watch['id']}.ics", params={"watch": "abc"}),  # not ignored
               await api.client.get(f"/feeds/watch/{watch['id']}.ics", params={"watch": watch["id"]})]

    def events(response):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(response.content)
        assert calendar["version"] == "2.0" and calendar["prodid"]
        return {str(e["summary"]): e for e in calendar.walk("VEVENT")}

    every = events(everything)
    assert set(every) == {"Aavesham — Sushin Shyam", "Undated — Sid Sriram", "Hindi one — Sushin Shyam"}
    aavesham = every["Aavesham — Sushin Shyam"]
    assert aavesham.decoded("dtstart") == dt.date(2026, 3, 1) and aavesham.decoded("dtend") == dt.date(2026, 3, 2)
    assert str(aavesham["uid"]) == "tag:vibed,2026:release/jiosaavn/x1"
    assert isinstance(every["Undated — Sid Sriram"].decoded("dtstart"), dt.date)  # the day it was first seen
    assert everything.content == again.content and everything.headers["etag"] == again.headers["etag"]
    assert set(events(malayalam)) == {"Aavesham — Sushin Shyam", "Undated — Sid Sriram"}
    assert set(events(private)) == {"Aavesham — Sushin Shyam", "Hindi one — Sushin Shyam"}
    assert {str(e["uid"]) for e in events(private).values()} <= {str(e["uid"]) for e in every.values()}
    assert private.headers["cache-control"] == "private, no-cache"
    assert icalendar.Calendar.from_ical(private.content)["x-wr-calname"] == "vibed: Sushin"
    assert [(r.status_code, r.json()["error"]) for r in bad] == [(404, "not_found")] + [(400, "watch_and_filter")] * 3
