"""The WebSocket path asked without an upgrade (a browser's address bar, curl without the headers) is
told how to upgrade, in the one error shape: the endpoint exists, so never "no such endpoint"."""

from __future__ import annotations

from tests.api_support import api_config
from tests.daemon_inproc import running_daemon


async def test_the_websocket_path_without_an_upgrade_is_426_upgrade_required(db_url):
    async with running_daemon(api_config(db_url)) as api:
        for method in ("GET", "HEAD"):
            r = await api.client.request(method, "/api/new-releases/ws")
            assert r.status_code == 426, (method, r.status_code, r.text)
            assert r.headers["content-type"] == "application/json" and r.headers["upgrade"] == "websocket"
            if method == "GET":
                body = r.json()
                assert set(body) == {"error", "detail"} and body["error"] == "websocket_upgrade_required"
                assert "Upgrade: websocket" in body["detail"] and "Sec-WebSocket-Key" in body["detail"]
        # a POST there is a method the endpoint does not take, as anywhere else
        assert (await api.client.post("/api/new-releases/ws")).status_code == 405
