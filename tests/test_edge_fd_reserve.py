"""Clients can never take the descriptors the daemon needs for itself: near the fd limit new
connections get 503 (a stream past its own limit a 200 saying when to come back), and the daemon still fetches upstream."""

from __future__ import annotations

import signal
import time

import trio

from tests.daemon_proc import Daemon, clean_env, free_port

LIMIT = 400  # RLIMIT_NOFILE of the daemon: streams up to 100 (300 kept back), connections up to 300


async def test_near_the_fd_limit_clients_get_503_and_the_daemon_still_fetches(tmp_path, db_url, sim, sim_url):
    port = free_port()
    env = clean_env(PORT=str(port), VIBED_HOST="127.0.0.1", DATABASE_URL=db_url, JIOSAAVN_BASE_URL=sim_url,
                    VIBED_LANGUAGES="ml", VIBED_SCHEDULE="0 0 29 2 *", VIBED_STREAM_LIMIT_PER_IP="0",
                    VIBED_API_RATE_LIMIT="0")
    daemon = Daemon(tmp_path, env, prefix=("prlimit", f"--nofile={LIMIT}:{LIMIT}"))
    held: list[trio.SocketStream] = []
    try:
        await trio.to_thread.run_sync(daemon.wait_healthy, 30)
        async def hold(target: str) -> bytes:
            stream = await trio.open_tcp_stream("127.0.0.1", port)
            held.append(stream)
            await stream.send_all(f"GET {target} HTTP/1.1\r\nHost: t\r\n\r\n".encode())
            with trio.fail_after(5):
                first = await stream.receive_some(4096)
            if b"holds its maximum" in first:
                return b"refused"  # a stream past the limit: a 200 with a retry: that ends, never a 503
            return first[9:12] if first else b"closed"

        streams = [await hold("/api/new-releases/stream") for _ in range(110)]
        # then keep-alive connections, each left open after its answer, until the descriptors run out
        plain = [await hold("/api/health") for _ in range(LIMIT)]
        assert streams.count(b"200") >= 90 and streams.count(b"refused") >= 1, streams  # the stream limit
        assert plain.count(b"200") >= 50 and plain.count(b"503") >= 50, plain  # the connection limit
        assert set(streams) == {b"200", b"refused"} and set(plain) == {b"200", b"503"}  # every refusal clean
        before = (await sim.stats())
        daemon.proc.send_signal(signal.SIGUSR1)  # a round: the fetcher needs a descriptor of its own
        deadline = time.monotonic() + 10
        while not any(e.get("event") == "fetch_completed" and e.get("requests", 0) >= 1 for e in daemon.events()):
            assert time.monotonic() < deadline, daemon.stdout()[-2000:]
            await trio.sleep(0.1)
        after = await sim.stats()
        assert after != before
        assert not [e for e in daemon.events() if e.get("event") == "fetch_error"]
    finally:
        for stream in held:
            await stream.aclose()
        daemon.close()
