"""Release text is upstream text: in a notification it is shown as text, never markup nor a ping, and
never so long that the service refuses the message (it would be retried until dead).

A live daemon sends through Apprise to a real json:// receiver on loopback.  With ``?format=html`` the
json plugin renders its body as HTML, as an e-mail or Telegram target does: a title or an artist
carrying ``<b>`` or ``<img onerror>`` must arrive escaped.  ``@everyone`` and ``<@123>`` are pings to
Discord, Slack and Mattermost: they arrive broken by a zero-width space after the ``@`` or ``<``.
"""

from __future__ import annotations

import datetime as dt
import json
import re

from tests.api_support import release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, messages
from tests.webhook_receiver import open_receiver
from vibed.webhooks import formats

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


def test_a_slack_body_of_a_1000_character_title_and_100_long_artist_names_fits_slack_s_limits():
    # the firewall lets through 1,000-character titles, 100 artists of 1,000 and 2,000-character links
    # (vibed/sources/bounds.py); Slack refuses a message whose mrkdwn text passes 3,000 characters
    release = {"title": "Rock & Roll " * 83, "artists": [("Vishal & Shekhar " * 58)[:1000]] * 100,
               "url": "https://www.jiosaavn.com/album/" + "x" * 1960, "image": "https://c.saavncdn.com/a.jpg",
               "kind": "album", "language": "hi", "release_date": "2026-03-01", "source": "jiosaavn"}
    body = json.loads(formats.body("slack", release, dt.datetime(2026, 3, 1, tzinfo=dt.UTC)))
    texts = [body["blocks"][0]["text"]["text"], body["blocks"][1]["elements"][0]["text"], body["text"]]
    assert all(len(text) <= formats.SLACK_TEXT_MAX for text in texts), [len(t) for t in texts]
    assert texts[0].startswith("*Rock &amp; Roll") and texts[0].endswith("…")
    assert not re.search(r"&[a-z]{0,3}…$", texts[0])  # never half an escape
