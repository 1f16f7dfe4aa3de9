"""The page at ``/`` over HTTP: the exact CSP, a validator, and assets linked by content hash
(immutable), so a browser never runs a new page with old scripts or an old page with new ones."""

from __future__ import annotations

import hashlib
import re

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon
from vibed.http.page import ASSETS

# the policy, spelled out: a change to it must change this line too
EXACT_CSP = ("default-src 'self'; img-src 'self' https: data:; connect-src 'self'; style-src 'self'; "
             "script-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")


async def test_the_page_has_the_exact_csp_and_a_validator_it_revalidates_against(db_url):
    async with running_daemon(api_config(db_url)) as api:
        page = await api.client.get("/")
        again = await api.client.get("/", headers={"If-None-Match": page.headers["ETag"]})
        stale = await api.client.get("/", headers={"If-None-Match": '"an-older-page"'})
    assert page.status_code == 200 and page.headers["Content-Security-Policy"] == EXACT_CSP
    assert page.headers["Cache-Control"] == "no-cache" and page.headers["ETag"].startswith('"')
    assert again.status_code == 304 and again.content == b""
    assert stale.status_code == 200 and stale.content == page.content


async def test_assets_are_linked_by_content_hash_and_cached_as_immutable(db_url):
    async with running_daemon(api_config(db_url)) as api:
        html = (await api.client.get("/")).text
        linked = re.findall(r'(?:src|href)="/static/([^"]+)"', html)
        stems = "|".join(name.rsplit(".", 1)[0] for name in ASSETS)  # every asset the page has, each versioned
        assert sorted(linked) == sorted(re.findall(rf"(?:{stems})\.[0-9a-f]{{16}}\.(?:js|css)", html)), linked
        assert len(linked) == len(ASSETS)
        for name in linked:
            stem, version, ext = name.split(".")
            asset = await api.client.get(f"/static/{name}")
            assert asset.status_code == 200
            assert hashlib.blake2b(asset.content, digest_size=16).hexdigest()[:16] == version  # the bytes named
            assert asset.headers["Cache-Control"] == "max-age=31536000, immutable"
            plain = await api.client.get(f"/static/{stem}.{ext}")  # anything that kept the old name
            assert plain.content == asset.content and plain.headers["Cache-Control"] == "no-cache"
            other = await api.client.get(f"/static/{stem}.{'0' * 16}.{ext}")  # an old page's version
            assert other.status_code == 404 and other.json()["error"] == "not_found"
