"""A notification target's host is vetted again before every message, and the message goes to the vetted
address only (DNS rebinding and redirects gain nothing), as for webhooks.

Two resolvers are in play, as in a real deployment.  The daemon vets through Trio's resolver, which
the test steers (``trio.socket.set_custom_hostname_resolver``): ``localhost`` answers what the test
says.  Apprise, in its worker thread, would ask the system's resolver, for which ``localhost`` is
127.0.0.1.  Receivers listen on 127.0.0.1 and 127.0.0.2 on one port, so where a message arrives says
which answer it followed.
"""

from __future__ import annotations

import io

import trio

from tests.api_support import release, store
from tests.daemon_inproc import running_daemon
from tests.notify_support import add_target, config, messages
from tests.steered_resolver import SteeredResolver
from tests.webhook_receiver import open_receiver
from vibed.logs import configure_logging

NAME = b"localhost"


async def settled(db, target_id: int, timeout: float = 20.0) -> dict:
    """The target's one outbox row once it is no longer pending (delivered or dead)."""
    with trio.fail_after(timeout):
        while True:
            row = await db.fetchrow("SELECT state, attempts, last_error FROM notify_outbox WHERE target_id = $1",
                                    target_id)
            if row is not None and row["state"] != "pending":
                return dict(row)
            await trio.sleep(0.05)


async def test_a_host_that_resolves_private_at_send_time_is_refused_as_a_failed_attempt(db, db_url):
    out = io.StringIO()
    configure_logging(stream=out)
    resolver = SteeredResolver(NAME, "127.0.0.1", then="10.9.8.7")  # public enough when made (the test allows
    trio.socket.set_custom_hostname_resolver(resolver)          # loopback), private when sent
    try:
        async with open_receiver() as rx, running_daemon(config(db_url, notify_retry_schedule="0.2s")) as api:
            made = await add_target(api, f"json://alice:pw-s3cret@localhost:{rx.port}/hook")
            await store(db, release(1, title="Refused"))
            dead = await settled(db, made["id"])  # both attempts refused
            assert (dead["state"], dead["attempts"]) == ("dead", 2), dead
            assert dead["last_error"].startswith("refused: 10.9.8.7 is private"), dead
            assert "VIBED_WEBHOOK_ALLOW_CIDRS" in dead["last_error"]
            assert rx.received == []  # Apprise was never handed it (it would have reached 127.0.0.1)
            assert (await api.client.get("/api/health")).status_code == 200  # the daemon carries on
            # the name resolves to an allowed address again: redelivered, and it arrives
            resolver.then = "127.0.0.1"
            r = await api.client.post(f"/api/notify/targets/{made['id']}/redeliver")
            assert r.status_code == 202, r.text
            [got] = messages(await rx.wait_for(1))
            assert got["title"] == "New album: Refused"
    finally:
        trio.socket.set_custom_hostname_resolver(None)
        configure_logging()
    logs = out.getvalue()
    assert "notify_dead_lettered" in logs and "refused: 10.9.8.7 is private" in logs
    assert "pw-s3cret" not in logs


async def test_the_message_goes_to_the_vetted_address_not_to_apprises_own_lookup(db, db_url):
    async with open_receiver(host="127.0.0.2") as vetted, open_receiver(port=vetted.port) as trap:
        resolver = SteeredResolver(NAME, then="127.0.0.2")  # the system's resolver says 127.0.0.1 (the trap)
        trio.socket.set_custom_hostname_resolver(resolver)
        try:
            async with running_daemon(config(db_url)) as api:
                await add_target(api, f"json://localhost:{vetted.port}/hook")
                await store(db, release(1, title="Pinned"))
                with trio.fail_after(20):
                    while not (vetted.received or trap.received):
                        await trio.sleep(0.05)
        finally:
            trio.socket.set_custom_hostname_resolver(None)
    assert trap.received == [], "Apprise connected where its own lookup pointed"
    [got] = vetted.received
    assert b"Pinned" in got.body and got.headers["host"] == f"localhost:{vetted.port}"
    assert resolver.asked >= 2  # vetted when made and again before sending


async def test_a_redirect_to_another_host_is_not_followed(db, db_url):
    # the trap listens on the vetted address too: were the redirect's host looked up as the vetted one
    # (pinned, but not refused), the message would land there, on a port nobody vetted
    async with open_receiver(host="127.0.0.2") as trap:
        def redirect(_):
            return (307, [("Location", f"http://127.0.0.1:{trap.port}/elsewhere")])

        async with open_receiver(redirect, host="127.0.0.2") as first:
            resolver = SteeredResolver(NAME, then="127.0.0.2")
            trio.socket.set_custom_hostname_resolver(resolver)
            try:
                async with running_daemon(config(db_url, notify_retry_schedule="0.2s")) as api:
                    made = await add_target(api, f"json://localhost:{first.port}/hook")
                    await store(db, release(1, title="Redirected"))
                    dead = await settled(db, made["id"])
            finally:
                trio.socket.set_custom_hostname_resolver(None)
    assert trap.received == [], "the redirect was followed to a host nobody vetted"
    assert dead["state"] == "dead" and dead["last_error"], dead
