"""``null`` in a watch's body means one thing for every field, on POST and PATCH alike: it is no value, a
400 ``invalid_body`` that names the field and says what to send instead, and the watch is left as it was.
A field left out keeps its part; ``[]`` clears a list (no artist, no name, any language/source/kind)."""

from __future__ import annotations

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon
from vibed.http.watch_bodies import FIELDS

BODY = {"name": "mine", "artist_names": ["Someone Not Yet Here"], "languages": ["ml"], "sources": ["jiosaavn"],
        "kinds": ["album"]}
CLEARED = {"artists": [], "pending": [], "languages": [], "sources": [], "kinds": []}  # what [] gives, per field
SHOWN = {"artist_names": "pending"}  # a body field -> where the watch's JSON shows it


def _parts(watch: dict) -> dict:
    return {k: watch[k] for k in ("name", "artists", "pending", "languages", "sources", "kinds")}


async def test_null_is_refused_for_every_field_and_an_empty_list_clears(db, db_url):
    await store(db, release(1, artist="Sushin Shyam"))
    sushin = await db.fetchval("SELECT id FROM artists")
    body = {**BODY, "artists": [sushin]}
    refused, cleared, kept = {}, {}, {}
    async with running_daemon(api_config(db_url, api_rate_limit=0)) as api:
        made = await api.client.post("/api/watches", json=body)
        path, mine = f"/api/watches/{made.json()['id']}", {"Authorization": f"Bearer {made.json()['token']}"}
        original = _parts(made.json())
        for field in FIELDS:
            answer = await api.client.patch(path, json={field: None}, headers=mine)
            created = await api.client.post("/api/watches", json={**body, field: None})
            after = (await api.client.get(path, headers=mine)).json()
            refused[field] = (answer.status_code, answer.json()["error"], answer.json()["detail"].split(":")[0],
                              created.status_code, _parts(after) == original)
        kept = _parts((await api.client.patch(path, json={}, headers=mine)).json())
        for field in FIELDS[1:]:  # each list cleared alone: the others stay
            answer = await api.client.patch(path, json={field: []}, headers=mine)
            cleared[field] = _parts(answer.json())[SHOWN.get(field, field)]
            await api.client.patch(path, json={field: body[field]}, headers=mine)
        count = await db.fetchval("SELECT count(*) FROM watches")
    assert refused == {field: (400, "invalid_body", field, 400, True) for field in FIELDS}
    assert kept == original and count == 1  # no POST with a null made a watch
    assert cleared == {field: CLEARED[SHOWN.get(field, field)] for field in FIELDS[1:]}
