"""Release text is upstream text: in a notification it is shown as text, never markup nor a ping.

A live daemon sends through Apprise to a real json:// receiver on loopback.  With ``?format=html`` the
json plugin renders its body as HTML, as an e-mail or Telegram target does: a title or an artist
carrying ``<b>`` or ``<img onerror>`` must arrive escaped.  ``@everyone`` and ``<@123>`` are pings to
Discord, Slack and Mattermost: they arrive broken by a zero-width space after the ``@`` or ``<``.
"""

from __future__ import annotations

from tests.api_support import release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, messages
from tests.webhook_receiver import open_receiver

MARKUP = '<img src=x onerror="alert(1)"> <b>Bold</b> & co'


async def test_markup_arrives_escaped_at_an_html_target_and_mentions_ping_nobody(db, db_url):
    async with open_receiver() as rx, running_daemon(config(db_url)) as api:
        await add_target(api, f"json://127.0.0.1:{rx.port}/hook?format=html")
        await store(db, release(1, title="Hello @everyone <@123>", artist=MARKUP + " @here"))
        [got] = messages(await rx.wait_for(1))
    assert got["title"] == "New album: Hello @\u200beveryone <\u200b@123>"
    body = got["message"]
    assert "<b>" not in body and "<img" not in body, body
    assert "&lt;b&gt;Bold&lt;/b&gt;" in body and "&amp;" in body, body
    assert "@\u200bhere" in body and "@here" not in body, body  # the body's mentions, not only the title's
