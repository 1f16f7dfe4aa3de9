"""DNS rebinding: the webhook sender connects to the address it vetted, never to a second lookup's.

A Trio hostname resolver (the real ``trio.socket`` hook every lookup in this run goes through)
answers ``rebind.test`` with one address the first time and another every time after.  Two real
receivers listen on the same port on both addresses; the delivery must reach the first.
"""

from __future__ import annotations

import trio

from tests.api_support import api_config, release, store
from tests.daemon_inproc import running_daemon
from tests.steered_resolver import SteeredResolver
from tests.test_webhooks import FAST, LOCAL
from tests.webhook_receiver import open_receiver

NAME = b"rebind.test"


async def test_the_delivery_goes_to_the_vetted_address_not_a_second_lookups(db, db_url):
    async with open_receiver() as vetted, open_receiver(host="127.0.0.2", port=vetted.port) as trap:
        resolver = SteeredResolver(NAME, "127.0.0.1", then="127.0.0.2")
        trio.socket.set_custom_hostname_resolver(resolver)
        try:
            async with running_daemon(api_config(db_url, **LOCAL, **FAST)) as api:
                made = await api.client.post("/api/webhooks", json={"url": f"http://rebind.test:{vetted.port}/hook"})
                assert made.status_code == 201, made.text
                await store(db, release(1, title="Rebound"))
                with trio.fail_after(20):
                    while not (vetted.received or trap.received):
                        await trio.sleep(0.05)
        finally:
            trio.socket.set_custom_hostname_resolver(None)
    assert trap.received == [], f"delivered to the re-resolved address: {trap.received[0].body[:80]!r}"
    [got] = vetted.received
    assert b"Rebound" in got.body and got.headers["host"] == f"rebind.test:{vetted.port}"
    assert trap.received == [] and resolver.asked == 1  # looked up once, for the vetting; never again
