"""Reload applied live: a new schedule takes effect on the wait in progress; fetchers grow and shrink."""

from __future__ import annotations

import datetime as dt

import attrs
import trio

from vibed.pipeline.fetcher import report
from vibed.pipeline.scheduler import Scheduler
from vibed.vocab.messages import FetchJob, JobDone, Poke


@attrs.frozen
class Cfg:
    schedule: str
    languages: tuple[str, ...] = ("ml",)
    page_cap: int = 1


class OneScope:
    available = True

    def scopes(self, languages):
        return list(languages)


async def test_new_schedule_replaces_the_wait_in_progress(autojump_clock):
    start = dt.datetime(2026, 11, 28, 10, 0, 30, tzinfo=dt.UTC)
    t0 = trio.current_time()
    scheduler = Scheduler(Cfg("0 0 * * *"), {"jiosaavn": OneScope()},
                          now=lambda: start + dt.timedelta(seconds=trio.current_time() - t0))
    pokes_s, pokes_r = trio.open_memory_channel[Poke](1)
    jobs_s, jobs_r = trio.open_memory_channel[FetchJob](0)
    fired: list[float] = []

    async def fetcher():
        async for job in jobs_r:
            fired.append(trio.current_time() - t0)
            report(job, JobDone(job.round_id, job.source, job.scope))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(fetcher)
        await nursery.start(scheduler.run, pokes_r, jobs_s)
        await trio.sleep(60)
        assert fired == []  # midnight is far away
        scheduler.reconfigure(Cfg("*/5 * * * *"))
        await trio.sleep(300)
        nursery.cancel_scope.cancel()
    assert fired and abs(fired[0] - 270) < 1  # 10:05:00 is 270 s after 10:00:30


async def test_reload_grows_and_shrinks_the_fetchers_and_keeps_serving(db_url, sim_url):
    from tests.api_support import api_config
    from tests.daemon_inproc import running_daemon

    wanted = {"fetchers": 3}

    def loader():
        return attrs.evolve(api_config(db_url, jiosaavn_base_url=sim_url), **wanted)

    async with running_daemon(api_config(db_url, jiosaavn_base_url=sim_url)) as daemon:
        runtime = daemon.runtime
        runtime.loader = loader
        names = lambda: sorted(s.name for s in runtime.supervisor.statistics() if s.name.startswith("fetcher"))  # noqa: E731
        assert names() == ["fetcher-1", "fetcher-2"]
        await runtime.reload()
        assert names() == ["fetcher-1", "fetcher-2", "fetcher-3"]
        wanted["fetchers"] = 1
        await runtime.reload()
        assert names() == ["fetcher-1"]
        assert runtime.config.fetchers == 1
        # the remaining fetcher still does the work
        progress = await daemon.rounds.wait(runtime.services.pipeline.control.request_round("test").round_id)
        assert progress.requests == 9 and progress.errors == 0  # 3 languages x the page cap, first run


async def test_reload_changes_the_stream_limit_per_client_live(db_url, sim_url):
    from tests.api_support import api_config
    from tests.daemon_inproc import running_daemon

    wanted: dict[str, object] = {"stream_limit_per_ip": 1}

    def loader():
        return attrs.evolve(api_config(db_url, jiosaavn_base_url=sim_url), **wanted)

    async def open_stream(port: int) -> trio.socket.SocketType:
        sock = trio.socket.socket()
        await sock.connect(("127.0.0.1", port))
        await sock.send(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        return sock

    async def clients_become(hub, count: int) -> None:
        with trio.fail_after(5):
            while hub.statistics().sse_clients != count:
                await trio.sleep(0.02)

    async with running_daemon(loader()) as daemon:
        runtime = daemon.runtime
        runtime.loader = loader
        hub = runtime.services.delivery.delivery.hub
        first = await open_stream(daemon.port)
        await clients_become(hub, 1)
        second = await open_stream(daemon.port)
        with trio.fail_after(5):  # refused: told to come back later, and closed
            while await second.recv(4096):
                pass
        assert hub.statistics().sse_clients == 1
        wanted.update(stream_limit_per_ip=2, heartbeat=0.25, stream_stall_timeout=7.0)
        await runtime.reload()
        assert (hub.heartbeat, hub.stall_timeout) == (0.25, 7.0)  # the hub's next beat and stall check use them
        third = await open_stream(daemon.port)
        await clients_become(hub, 2)
        for sock in (first, second, third):
            sock.close()


async def test_reload_changes_the_edges_limits_live(db_url, sim_url):
    """VIBED_API_RATE_LIMIT, VIBED_TRUSTED_PROXIES and VIBED_CONNECTIONS_PER_PEER take effect without a restart."""
    from tests.api_support import api_config
    from tests.daemon_inproc import running_daemon
    from tests.http_wire import raw_clients, read_responses, request

    wanted: dict[str, object] = {"api_rate_limit": 1000, "trusted_proxies": (), "connections_per_peer": 256}

    def loader():
        return attrs.evolve(api_config(db_url, jiosaavn_base_url=sim_url), **wanted)

    async with running_daemon(loader()) as daemon, raw_clients(daemon.port) as connect:
        daemon.runtime.loader = loader
        wanted.update(api_rate_limit=2, trusted_proxies=("127.0.0.1/32",))
        await daemon.runtime.reload()
        stream = await connect()
        hops = ("198.51.100.1",) * 3 + ("198.51.100.2",)  # behind the proxy this machine now is: two clients
        await stream.send_all(b"".join(request("GET", "/api/rate-limit", f"X-Forwarded-For: {hop}") for hop in hops))
        limited = [answer.status for answer in await read_responses(stream, ["GET"] * len(hops))]
        await stream.aclose()

        wanted.update(api_rate_limit=0, trusted_proxies=(), connections_per_peer=1)
        await daemon.runtime.reload()
        held, statuses = [], []
        for _ in range(2):  # whatever else this peer holds, two more cannot both be let in under a cap of 1
            held.append(stream := await connect())
            await stream.send_all(request("GET", "/api/health"))
            statuses += [answer.status for answer in await read_responses(stream, ["GET"])]
    assert limited == [200, 200, 429, 200]
    assert 429 in statuses, statuses


PAST_BACKOFF = "UPDATE fetch_state SET backoff_until = now() - interval '1 second'"  # a failure's minutes, passed


async def test_reload_tries_a_gone_spotify_again_and_takes_the_new_window(db, db_url, sim_url, sim):
    """The reload table: Spotify's "gone" mark is forgotten (an app re-enabled upstream is tried again), and
    VIBED_NEW_WINDOW_DAYS reaches the writer."""
    from tests.api_support import api_config
    from tests.daemon_inproc import running_daemon

    wanted: dict[str, object] = {"new_window_days": 30}

    def loader():
        return attrs.evolve(api_config(
            db_url, jiosaavn_base_url=sim_url, spotify_api_url=sim_url, spotify_accounts_url=sim_url,
            spotify_client_id="sim-client-id", spotify_client_secret="sim-client-secret", languages="ml",
            spotify_markets="IN", page_cap=1), **wanted)

    async with running_daemon(loader()) as daemon:
        daemon.runtime.loader = loader
        await sim.inject("spotify_removed", source="spotify", count=1)
        await daemon.round()  # Spotify answers 403: gone for this app, not called again
        await db.execute(PAST_BACKOFF)
        await sim.reset_stats()
        await daemon.round()
        before = (await sim.stats())["spotify_new_releases"]
        wanted["new_window_days"] = 90
        await daemon.runtime.reload()
        await db.execute(PAST_BACKOFF)
        await sim.reset_stats()
        await daemon.round()
        after = (await sim.stats())["spotify_new_releases"]
        window = daemon.runtime.services.pipeline.writer.window_days
    assert not before and after, (before, after)  # not called while gone; called again after the reload
    assert window == 90


def test_reload_turns_debug_lines_on_and_masks_a_new_secret(capsys):
    """DEBUG and JWT_SECRET are in the reload table: the logger is configured again with them (on stdout,
    where the daemon writes)."""
    import json

    from tests.api_support import api_config
    from vibed.config.reload import reload_config
    from vibed.logs import configure_logging, debug_on, get_logger

    old = api_config("postgresql://u@localhost/x")
    secret = "reloaded-jwt-secret-0123456789abcdef01"
    configure_logging(debug=old.debug)
    try:
        assert not debug_on("vibed.http")
        new = reload_config(old, lambda: api_config("postgresql://u@localhost/x", debug="*", jwt_secret=secret))
        assert new is not None and debug_on("vibed.http")
        get_logger("t").warning("library_said", message=f"key {secret}")
    finally:
        configure_logging()
    said = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "library_said" in line]
    assert [line["message"] for line in said] == ["key ***"]
