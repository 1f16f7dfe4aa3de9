"""Webhook subscriptions belong to whoever made them: a token's subject, or loopback authority.

Two tokens with different subjects, over a live daemon and a real PostgreSQL: neither can list,
read, see the deliveries of, redeliver or delete the other's subscription — it answers 404, as
for one that does not exist.  Rows made before owners existed become loopback authority's.
"""

from __future__ import annotations

import shutil

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from tests.pg_support import create_test_database
from vibed.http.auth import issue_token
from vibed.store.migrations import load_migrations, migrate, schema_dir
from vibed.store.postgres import open_database

SECRET = "owners-test-secret-0123456789abcdef-0123"


def bearer(subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(SECRET, ttl=600, subject=subject)}"}


async def test_two_subjects_never_see_or_touch_each_others_subscriptions(db, db_url):
    alice, mallory = bearer("alice"), bearer("mallory")
    async with running_daemon(api_config(db_url, jwt_secret=SECRET)) as api:
        get, post, delete = api.client.get, api.client.post, api.client.delete
        made = await post("/api/webhooks", json={"url": "https://discord.example/api/webhooks/1/s3cret"},
                          headers=alice)
        assert made.status_code == 201, made.text
        hook = made.json()["id"]
        theirs = await post("/api/webhooks", json={"url": "https://mallory.example/h"}, headers=mallory)
        assert [h["id"] for h in (await get("/api/webhooks", headers=mallory)).json()["data"]] == [theirs.json()["id"]]
        for answer in (await get(f"/api/webhooks/{hook}", headers=mallory),
                       await get(f"/api/webhooks/{hook}/deliveries", headers=mallory),
                       await post(f"/api/webhooks/{hook}/redeliver", json={}, headers=mallory),
                       await delete(f"/api/webhooks/{hook}", headers=mallory)):
            assert answer.status_code == 404 and answer.json()["error"] == "not_found", answer.text
            assert "s3cret" not in answer.text
        # alice's is untouched, and hers alone
        assert await db.fetchval("SELECT owner FROM webhooks WHERE id = $1", hook) == "jwt:alice"
        mine = (await get("/api/webhooks", headers=alice)).json()["data"]
        assert [h["id"] for h in mine] == [hook] and mine[0]["url"].endswith("s3cret")
        assert (await get(f"/api/webhooks/{hook}/deliveries", headers=alice)).status_code == 200
        assert (await post(f"/api/webhooks/{hook}/redeliver", json={}, headers=alice)).status_code == 202
        assert (await delete(f"/api/webhooks/{hook}", headers=alice)).status_code == 204
    # loopback authority (no JWT_SECRET) is an owner of its own: it sees neither subject's
    async with running_daemon(api_config(db_url)) as api:
        assert (await api.client.get("/api/webhooks")).json()["data"] == []
        assert (await api.client.get(f"/api/webhooks/{theirs.json()['id']}")).status_code == 404


async def test_rows_from_before_owners_become_loopback_authoritys(pg_server, aio_loop, tmp_path):
    url = await create_test_database(pg_server)
    old = tmp_path / "schema"
    old.mkdir()
    for migration in load_migrations():
        if migration.version < 11:
            shutil.copy(schema_dir() / migration.name, old / migration.name)
    async with open_database(url, pool_size=2) as db:
        await db.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
        await migrate(db, old)
        await db.execute("INSERT INTO webhooks (url, secret) VALUES ('https://old.example/h', 'whsec_AAAA')")
        assert "0011_webhook_owner.sql" in await migrate(db)
        assert await db.fetchval("SELECT owner FROM webhooks") == "local"
    async with running_daemon(api_config(url)) as api:
        [row] = (await api.client.get("/api/webhooks")).json()["data"]
        assert row["url"] == "https://old.example/h"
