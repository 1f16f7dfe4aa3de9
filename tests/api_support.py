"""Helpers for the HTTP API tests: the config of an in-process daemon that fetches nothing, and releases.

    async with running_daemon(api_config(db_url)) as api:       # tests/daemon_inproc.py
        r = await api.client.get("/api/new-releases")
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import jsonschema

from vibed.config import load_config
from vibed.store.postgres import Database
from vibed.store.releases import write_batch
from vibed.vocab.messages import Artist, Release

FAR_AWAY = "0 0 29 2 *"  # 29 February: no cron round during a test
NOWHERE = "http://127.0.0.1:9"  # upstream never called: no round runs


def api_config(db_url: str, **overrides: Any) -> Any:
    values = {"database_url": db_url, "jiosaavn_base_url": NOWHERE, "port": 0, "host": "127.0.0.1",
              "schedule": FAR_AWAY, "grace_period": 2, "db_pool_size": 6, **overrides}
    return load_config(values, environ={}, env_file=None)


def _artist_id(name: str) -> str:
    """An upstream knows a person by one id: the same name, the same id (the artist index merges by it)."""
    return "a" + hashlib.sha1(name.encode()).hexdigest()[:8]


def release(n: int, *, language: str = "ml", source: str = "jiosaavn", kind: str = "album",
            day: dt.date | None = dt.date(2026, 3, 1), title: str | None = None,
            artist: str = "Sushin Shyam") -> Release:
    return Release(source=source, external_id=f"x{n}", kind=kind, title=title or f"Title {n}",
                   artists=(Artist(_artist_id(artist), artist),), language=language, release_date=day,
                   year=day.year if day else None, url=f"https://example.test/{n}",
                   raw={"id": f"x{n}", "n": n, "note": "upstream item"})


async def store(db: Database, *releases: Release) -> None:
    await db.run(write_batch, db.pool, list(releases), 36500)


async def table_digest(db: Database) -> str:
    """A fingerprint of every stored row: equal before and after = nothing was changed."""
    rows = await db.fetch("SELECT md5(string_agg(r::text, '|' ORDER BY id)) AS h, count(*) FROM releases r")
    events = await db.fetchval("SELECT count(*) FROM events")
    buckets = await db.fetchval("SELECT string_agg(service_name || max_tokens, ',') FROM rate_limit_tokens")
    return hashlib.sha256(f"{rows[0]['h']}/{rows[0]['count']}/{events}/{buckets}".encode()).hexdigest()


def conforms(doc: dict[str, Any], path: str, method: str, response: Any) -> None:
    spec = doc["paths"][path][method]["responses"][str(response.status_code)]
    if "$ref" in spec:
        spec = doc["components"]["responses"][spec["$ref"].rsplit("/", 1)[1]]
    for name in spec.get("headers", {}):
        assert name in response.headers, (path, response.status_code, name)
    if "content" in spec:
        media = response.headers["Content-Type"].split(";")[0]
        schema = {**spec["content"][media]["schema"], "components": doc["components"]}
        jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
            response.json())
