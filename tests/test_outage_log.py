"""Outage warnings repeat at a bounded rate and end with a recovery line (vibed/logs/outage.py)."""

from __future__ import annotations

import trio

from tests.pipeline_support import captured_logs, events_named
from vibed.logs import get_logger
from vibed.logs.outage import Outage
from vibed.store.postgres import DatabaseUnavailable


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


class _DownFor:
    """Stands in for PostgreSQL down for ``seconds`` (trio's clock): each call raises until then."""

    def __init__(self, seconds: float) -> None:
        self.until = trio.current_time() + seconds
        self.calls = self.failed = 0

    def check(self) -> None:
        self.calls += 1
        if trio.current_time() < self.until:
            self.failed += 1
            raise DatabaseUnavailable("database: not answering")


def _told(logs, event: str) -> list[tuple[int, float]]:
    return [(w["failures"], w["outage_s"]) for w in events_named(logs, event)]


async def test_an_outbox_loop_meeting_a_150_s_database_outage_tells_it_in_three_lines_and_one_end(autojump_clock):
    # the loop every outbox shares (webhooks, push, notification targets), with the webhook sender's own Outage
    from vibed.outbox.loop import LoopNames, OutboxLoop
    from vibed.webhooks.sender import WebhookSender

    down = _DownFor(150.0)

    class Kind:
        async def sweep(self, loop: OutboxLoop) -> None:
            down.check()

        async def prune(self) -> int:
            return 0

    outage = WebhookSender.__attrs_attrs__._outage.default.factory()
    loop = OutboxLoop(Kind(), get_logger("vibed.webhooks"), outage, LoopNames(pruned=None), poll=1.0)
    with captured_logs() as logs:
        wake_s, wake_r = trio.open_memory_channel[None](1)
        async with trio.open_nursery() as nursery:
            await nursery.start(loop.run, wake_r)
            await trio.sleep(200.0)
            await wake_s.aclose()
    assert down.calls >= 150  # it kept looking, about once a second
    assert _told(logs, "webhook_outbox_unavailable") == [(1, 0.0), (61, 60.0), (121, 120.0)]
    [ended] = events_named(logs, "outage_recovered")
    assert ended["outage"] == "webhook_outbox_unavailable" and ended["failures"] == down.failed


async def test_the_bus_poll_meeting_a_150_s_database_outage_tells_it_in_three_lines_and_one_end(autojump_clock):
    from vibed.delivery.redis_feed import RedisFeed

    down = _DownFor(150.0)

    class Sequencer:
        async def catch_up(self) -> None:
            down.check()

    feed = RedisFeed(link=None, sequencer=Sequencer(), poll_interval=1.0)  # degraded: Redis is down too
    with captured_logs() as logs:
        with trio.move_on_after(200.0):
            await feed._poll_while_degraded()
    assert down.calls >= 150
    assert _told(logs, "bus_poll_failed") == [(1, 0.0), (61, 60.0), (121, 120.0)]
    [ended] = events_named(logs, "outage_recovered")
    assert ended["outage"] == "bus_poll_failed" and ended["failures"] == down.failed
