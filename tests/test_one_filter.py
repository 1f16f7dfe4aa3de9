"""The one ``ReleaseFilter`` through every path: the same filters give the same releases on the listing,
the feeds, SSE (replayed from the ring and from the database), the WebSocket (query string and JSON
message) and webhook subscriptions (the writer's outbox) — spelt out, and saved as a watch and named by
``watch=<id>`` (and its private feeds); and every path refuses the same bad values with the same code."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import attrs
import httpx
import icalendar
import trio
from wsproto.events import TextMessage

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon
from tests.stream_support import open_sse
from tests.ws_support import WS_PATH, open_wire_client
from vibed.http.auth import issue_token
from vibed.vocab.messages import Artist, Release

SECRET = "one-filter-test-secret-0123456789abcdef"
A, B, C = ("1", "A.R. Rahman"), ("2", "Shreya Ghoshal"), ("3", "Sid Sriram")
# external id: (source, language, kind, credits)
RELEASES = {
    "r1": ("jiosaavn", "ml", "album", [A]),
    "r2": ("jiosaavn", "hi", "song", [A, B]),
    "r3": ("spotify", None, "album", [("s1", "A. R. Rahman")]),  # the same person on Spotify: name + r1's album
    "r4": ("jiosaavn", "ta", "album", [C]),
    "r5": ("spotify", None, "song", [("s2", "Shreya Ghoshal")]),
    "r6": ("jiosaavn", "ml", "song", [C, B]),
}
# the same album on both sources (titles alike): with the names, what makes one person of two ids
SAME_ALBUM = {"r3": "r1", "r5": "r2"}
# the filter by artist *names* (turned into ids through /api/artists), as query pairs; what it must give
TABLE: list[tuple[list[tuple[str, str]], set[str]]] = [
    ([("artist", "A")], {"r1", "r2", "r3"}),
    ([("artist", "A,C")], {"r1", "r2", "r3", "r4", "r6"}),
    ([("artist", "B"), ("language", "ml")], {"r6"}),
    ([("artist", "B"), ("source", "spotify")], {"r5"}),
    ([("language", "ml,hi"), ("kind", "song")], {"r2", "r6"}),
    ([("kind", "album"), ("artist", "A"), ("artist", "C")], {"r1", "r3", "r4"}),
    ([("source", "jiosaavn,spotify"), ("artist", "C"), ("kind", "song")], {"r6"}),
]


def _stored() -> list[Release]:
    return [attrs.evolve(release(n, source=source, kind=kind), external_id=ext, title=SAME_ALBUM.get(ext, ext),
                         language=language,
                         artists=tuple(Artist(i, name) for i, name in credits))
            for n, (ext, (source, language, kind, credits)) in enumerate(RELEASES.items())]


def _ids(pairs: list[tuple[str, str]], artist_id: dict[str, int]) -> list[tuple[str, str]]:
    return [(k, ",".join(str(artist_id[x]) for x in v.split(",")) if k == "artist" else v) for k, v in pairs]


def _watch_body(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The same filter as a watch: {"artists": [ids], "languages": [...], ...}."""
    return {("artists" if key == "artist" else f"{key}s"): values for key, values in _json_filter(pairs).items()}


def _json_filter(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """The same filter as a JSON body: lists, artist ids as numbers."""
    body: dict[str, list[Any]] = {}
    for key, value in pairs:
        body.setdefault(key, []).extend(int(v) if key == "artist" else v for v in value.split(","))
    return body


async def _sse(port: int, query: str) -> set[str]:
    """The replay from event 0: every event before the first heartbeat (the replay is written whole,
    before anything live, and no release is published meanwhile)."""
    got: set[str] = set()
    async with open_sse(port, f"/api/new-releases/stream?{query}&last_event_id=0") as client:
        with trio.fail_after(10):
            while (frame := await client.frame()) is not None and frame.get("comment") != "hb":
                if "event" in frame:
                    got.add(frame["data"]["external_id"])
    return got


async def _ws(port: int, query: str, message: dict[str, Any] | None) -> set[str]:
    got: set[str] = set()
    async with open_wire_client(port, f"?{query}&last_event_id=0" if message is None else "") as ws:
        if message is not None:
            assert (await ws.message())["event"] == "subscribed"
            await ws.stream.send_all(ws.ws.send(TextMessage(json.dumps(message))))
        while (msg := await ws.message())["event"] != "subscribed":
            got.add(msg["data"]["external_id"])
    return got


async def test_the_same_filters_give_the_same_releases_on_every_path(db, db_url):
    auth = {"Authorization": f"Bearer {issue_token(SECRET, ttl=600)}"}
    cfg = api_config(db_url, jwt_secret=SECRET, api_rate_limit=0, stream_limit_per_ip=0, heartbeat=0.2)
    # artist ids come from the index, so the releases are stored first; the webhook rows need their
    # subscriptions before the events: a first batch names the artists, the table's releases follow
    await store(db, *[r for r in _stored() if r.external_id in ("r1", "r2", "r4")])
    async with running_daemon(cfg) as api:
        artist_id = {}
        for letter, (_, name) in {"A": A, "B": B, "C": C}.items():
            found = (await api.client.get("/api/artists", params={"q": name, "limit": 1})).json()["data"]
            artist_id[letter] = found[0]["id"]
        hooks, watches, watch_hooks = [], [], []
        for pairs, _ in TABLE:
            r = await api.client.post("/api/webhooks", headers=auth,
                                      json={"url": "https://example.com/h", **_json_filter(_ids(pairs, artist_id))})
            assert r.status_code == 201, r.text
            hooks.append(r.json()["id"])
            w = await api.client.post("/api/watches", json={"name": "t", **_watch_body(_ids(pairs, artist_id))})
            assert w.status_code == 201, w.text
            watches.append(w.json()["id"])
            r = await api.client.post("/api/webhooks", headers=auth,
                                      json={"url": "https://example.com/w", "watch": watches[-1]})
            assert r.status_code == 201 and r.json()["watch"] == watches[-1], r.text
            watch_hooks.append(r.json()["id"])
    await db.execute("DELETE FROM events")  # the first batch's events predate the subscriptions
    await db.execute("DELETE FROM releases")
    await store(db, *_stored())
    async with running_daemon(cfg) as api:
        for (pairs, expected), hook, watch, watch_hook in zip(TABLE, hooks, watches, watch_hooks, strict=True):
            pairs = _ids(pairs, artist_id)
            spelt = await _every_path(api, db, urlencode(pairs), hook, _json_filter(pairs))
            # the watch resolves to the very filter spelt out above: its database replay is the memo's
            named = await _every_path(api, db, urlencode({"watch": watch}), watch_hook, {"watch": watch}, (0, 2))
            for suffix in ("json", "ics"):
                named[f"watch feed .{suffix}"] = _feed_ids(await api.client.get(f"/feeds/watch/{watch}.{suffix}"))
            paths = {**spelt, **{f"{path} (watch=)": got for path, got in named.items()}}
            assert paths == dict.fromkeys(paths, expected), (pairs, expected, {k: v for k, v in paths.items()
                                                                                if v != expected})


def _feed_ids(response: httpx.Response) -> set[str]:
    assert response.status_code == 200, response.text
    if response.headers["content-type"].startswith("text/calendar"):
        calendar = icalendar.Calendar.from_ical(response.content)
        return {str(event["uid"]).rsplit("/", 1)[1] for event in calendar.walk("VEVENT")}
    return {item["id"].rsplit("/", 1)[1] for item in response.json()["items"]}


async def _every_path(api: Any, db: Any, query: str, hook: int, body: dict[str, Any],
                      replays: tuple[int, int] = (1, 1)) -> dict[str, set[str]]:
    """The releases each path gives; ``replays``: (database queries, answers from memory) the two SSE
    replays cost."""
    listing = (await api.client.get(f"/api/new-releases?{query}")).json()["data"]
    feed = await api.client.get(f"/feeds/new-releases.json?{query}")
    outbox = await db.fetch("""SELECT e.payload->>'external_id' AS ext FROM webhook_outbox o
                               JOIN events e ON e.id = o.event_id WHERE o.webhook_id = $1""", hook)
    delivery = api.runtime.services.delivery.delivery
    before = delivery.replayer.statistics()
    delivery.hub.ring.ready = False  # first as if older than the ring: the database answers
    database = await _sse(api.port, query)
    delivery.hub.ring.ready = True
    ring = await _sse(api.port, query)  # then from memory (the ring's `since`: the matcher)
    after = delivery.replayer.statistics()
    assert (after.database_queries - before.database_queries, after.from_memory - before.from_memory) == replays
    ws_query = await _ws(api.port, query, None)
    ws_json = await _ws(api.port, "", {"subscribe": body.pop("language", []), **body, "last_event_id": 0})
    return {"listing": {r["external_id"] for r in listing}, "feed": _feed_ids(feed),
            "sse from the ring": ring, "sse from the database": database,
            "websocket (query)": ws_query, "websocket (json)": ws_json,
            "webhook": {row["ext"] for row in outbox}}


async def _opened(client: httpx.AsyncClient, path: str, params: dict[str, str],
                  headers: dict[str, str]) -> httpx.Response:
    """A stream's answer, read only when it is not a stream (an accepted one would never end)."""
    async with client.stream("GET", path, params=params, headers=headers) as response:
        if response.status_code == 400:
            await response.aread()
        return response


async def test_every_path_refuses_the_same_bad_values_with_the_same_code(db_url):
    auth = {"Authorization": f"Bearer {issue_token(SECRET, ttl=600)}"}
    too_many = ",".join(str(n) for n in range(1, 52))
    cases = [({"artist": too_many}, "too_many_artists"), ({"artist": "abc"}, "bad_artist"),
             ({"artist": "0"}, "bad_artist"), ({"language": "xx"}, "unknown_language"),
             ({"source": "napster"}, "unknown_source"), ({"kind": "ep"}, "unknown_kind"),
             ({"watch": "not-a-watch"}, "bad_watch"), ({"watch": "A" * 22, "language": "ml"}, "watch_and_filter")]
    async with running_daemon(api_config(db_url, jwt_secret=SECRET, api_rate_limit=0)) as api:
        fifty = ",".join(str(n) for n in range(1, 51))
        assert (await api.client.get("/api/new-releases", params={"artist": fifty})).status_code == 200
        for params, code in cases:
            body = {k: v if k == "watch" else v.split(",") for k, v in params.items()}
            answers = {
                "listing": await api.client.get("/api/new-releases", params=params),
                "feed": await api.client.get("/feeds/new-releases.atom", params=params),
                "sse": await _opened(api.client, "/api/new-releases/stream", params, {}),
                "websocket": await _opened(api.client, WS_PATH, params,
                                           {"Upgrade": "websocket", "Connection": "Upgrade"}),
                "webhook": await api.client.post("/api/webhooks", headers=auth,
                                                 json={"url": "https://example.com/h", **body}),
            }
            got = {path: (r.status_code, r.json()["error"] if r.status_code == 400 else "") for path, r in answers.items()}
            assert got == dict.fromkeys(got, (400, code)), (params, {k: v for k, v in got.items() if v != (400, code)})
        async with open_wire_client(api.port) as ws:
            assert (await ws.message())["event"] == "subscribed"
            for params, code in cases:
                message = {"subscribe": [], **{k: v if k == "watch" else v.split(",") for k, v in params.items()}}
                await ws.stream.send_all(ws.ws.send(TextMessage(json.dumps(message))))
                answer = await ws.message()
                assert answer.get("error") == code, (params, answer)

