"""Outage warnings repeat at a bounded rate and end with a recovery line (vibed/logs/outage.py)."""

from __future__ import annotations

import trio

from tests.pipeline_support import captured_logs, events_named
from vibed.logs import get_logger
from vibed.logs.outage import Outage


async def test_a_failure_a_second_for_150_s_is_three_lines_and_its_end_is_one(autojump_clock):
    outage = Outage(get_logger("vibed.roles"), "round_requests_unavailable")
    with captured_logs() as logs:
        for _ in range(150):  # the retry loop of a 150 s Redis outage
            outage.failed(error="redis at redis://localhost:6379: refused", retry_in=1.0)
            await trio.sleep(1.0)
        outage.succeeded()
        outage.succeeded()  # no outage now: nothing to say
        outage.failed(error="again")  # a new outage is told at once
    warned = events_named(logs, "round_requests_unavailable")
    assert [(w["failures"], w["outage_s"]) for w in warned] == [(1, 0.0), (61, 60.0), (121, 120.0), (1, 0.0)]
    assert all(w["log_level"] == "warning" and w["retry_in"] == 1.0 for w in warned[:3])
    [ended] = events_named(logs, "outage_recovered")
    assert ended.pop("_ns") == warned[0]["_ns"]  # in the caller's namespace
    assert ended == {"event": "outage_recovered", "log_level": "info", "outage": "round_requests_unavailable",
                     "outage_s": 150.0, "failures": 150}


async def test_the_webhook_sender_and_the_bus_poll_tell_their_outages_this_way():
    from vibed.delivery.redis_feed import RedisFeed
    from vibed.webhooks.sender import WebhookSender

    assert WebhookSender.__attrs_attrs__._outage.default.factory().event == "webhook_outbox_unavailable"
    assert RedisFeed.__attrs_attrs__._poll_outage.default.factory().event == "bus_poll_failed"
