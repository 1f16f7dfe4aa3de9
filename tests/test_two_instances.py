"""The scale-out promise, proven with real processes: two `vibed run` on one PostgreSQL, one Redis and
one simulator.  Every (source, language, round) is fetched by exactly one instance; the requests stay
within the bucket; a stream client on each instance receives every event once, in order; and after a
SIGKILL of one instance the other keeps fetching and serving."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import threading
import time
import urllib.request
from collections import Counter

from tests.daemon_proc import VIBED, Daemon, clean_env, free_port
from tests.test_live_page import post, simulator, test_db  # noqa: F401 - fixtures

LANGUAGES = ("ml", "hi", "ta")


class StreamReader(threading.Thread):
    """A plain SSE client on a blocking socket, collecting event ids."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.sock.sendall(b"GET /api/new-releases/stream HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n\r\n")
        self.ids: list[int] = []
        self.answered = threading.Event()  # the response head arrived: subscribed to the stream
        self.closed = False

    def run(self) -> None:
        buffer = b""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.answered.set()
                buffer += data
                *lines, buffer = buffer.split(b"\n")
                event_id = None
                for line in lines:
                    if line.startswith(b"id: "):
                        event_id = int(line[4:].strip())
                    elif line.startswith(b"event: new_release") and event_id is not None:
                        self.ids.append(event_id)
        except OSError:
            pass
        self.closed = True


def sim_stats(url: str) -> dict:
    with urllib.request.urlopen(f"{url}/_sim/stats", timeout=5) as response:
        return json.loads(response.read())


def fetches(daemon: Daemon) -> list[tuple[str, str]]:
    return [(e["language"], e["slot"]) for e in daemon.events()
            if e["event"] == "fetch_started" and e.get("slot", "").endswith("Z") and "T" in e["slot"]]


def cron_fetches(daemon: Daemon) -> list[tuple[str, str]]:
    return [(lang, slot) for lang, slot in fetches(daemon) if len(slot) == 20]  # a cron slot, not a poke id


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def event_ids(db_url: str, title_like: str = "%") -> list[int]:
    out = subprocess.run(
        [*VIBED[:1], "-c", "import asyncpg,asyncio,sys\n"
         "async def m():\n c=await asyncpg.connect(sys.argv[1])\n"
         " print([r[0] for r in await c.fetch(\"SELECT id FROM events WHERE kind='new_release'"
         " AND payload->>'title' LIKE $1 ORDER BY id\", sys.argv[2])])\n"
         " await c.close()\nasyncio.run(m())", db_url, title_like], capture_output=True, text=True, timeout=30)
    return json.loads(out.stdout)


def tokens_spent(db_url: str) -> float:
    out = subprocess.run(
        [*VIBED[:1], "-c", "import asyncpg,asyncio,sys\n"
         "async def m():\n c=await asyncpg.connect(sys.argv[1])\n"
         " print(await c.fetchval(\"SELECT max_tokens - tokens FROM rate_limit_tokens WHERE service_name='jiosaavn'\"))\n"
         " await c.close()\nasyncio.run(m())", db_url], capture_output=True, text=True, timeout=30)
    return float(out.stdout)


def test_two_instances_share_the_work_and_the_stream(tmp_path, test_db, simulator, redis_server):  # noqa: F811
    common = dict(DATABASE_URL=test_db, REDIS_URL=redis_server.url, JIOSAAVN_BASE_URL=simulator,
                  VIBED_LANGUAGES=",".join(LANGUAGES), VIBED_SCHEDULE="* * * * * */1", VIBED_HOST="127.0.0.1",
                  VIBED_PAGE_CAP="2", VIBED_POLLING="cron")  # the cron slots are what this test follows
    ports = free_port(), free_port()
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a = Daemon(tmp_path / "a", clean_env(PORT=str(ports[0]), **common))
    b = Daemon(tmp_path / "b", clean_env(PORT=str(ports[1]), **common))
    readers: list[StreamReader] = []
    try:
        a.wait_healthy(30)
        b.wait_healthy(30)
        readers = [StreamReader(ports[0]), StreamReader(ports[1])]
        for reader in readers:
            reader.start()
        wait_until(lambda: all(r.answered.is_set() for r in readers), 10, "both stream clients to be answered")
        first_event = max(event_ids(test_db), default=0)

        # several rounds, with new releases appearing upstream between them
        for n in range(3):
            for lang in LANGUAGES:
                post(f"{simulator}/_sim/release", {"language": lang, "kind": "album", "title": f"Round {n} {lang}"})
            rounds_before = len(set(slot for _, slot in cron_fetches(a) + cron_fetches(b)))
            wait_until(lambda rb=rounds_before: len(set(slot for _, slot in cron_fetches(a) + cron_fetches(b))) > rb,
                       20, "a new cron round")
        # the last round stores what was released before it (a cron slot every second)
        wait_until(lambda: len(event_ids(test_db, "Round _ %")) == 3 * len(LANGUAGES), 20,
                   "every release of the three rounds stored")

        # every (language, cron slot) fetched by exactly one instance
        both = cron_fetches(a) + cron_fetches(b)
        assert both, "no cron round ran"
        duplicates = [key for key, count in Counter(both).items() if count > 1]
        assert duplicates == []
        assert {lang for lang, _ in both} == set(LANGUAGES)
        assert cron_fetches(a) and cron_fetches(b), "both instances took part"

        # requests within the bucket: every upstream request spent one token
        # (rounds go on meanwhile: read the requests first, so a token taken for a request still in
        # flight can only make "spent" larger; refill over the test adds back under one token)
        requests = sim_stats(simulator)["total"]
        spent = tokens_spent(test_db)
        assert requests <= spent + 1  # never a request without a token
        assert spent <= requests + 2 * 2 + 1  # at most one token in flight per fetcher of each instance
        assert spent <= 1000

        # both stream clients saw every stored event once, in order
        stored = [i for i in event_ids(test_db) if i > first_event]
        assert len(stored) >= 3 * len(LANGUAGES)
        wait_until(lambda: all(set(stored) <= set(r.ids) for r in readers), 10, "both clients to catch up")
        for reader in readers:
            mine = [i for i in reader.ids if i > first_event]
            assert mine == sorted(set(mine)), "once each, in order"
            assert mine[: len(stored)] == stored

        # SIGKILL one instance: the other keeps fetching and serving
        a.stop(signal.SIGKILL)
        killed_at = len(cron_fetches(b))
        post(f"{simulator}/_sim/release", {"language": "ml", "kind": "song", "title": "After The Crash"})
        wait_until(lambda: {lang for lang, slot in cron_fetches(b)[killed_at:]} == set(LANGUAGES), 20,
                   "the survivor to fetch every language")
        wait_until(lambda: max(event_ids(test_db)) in readers[1].ids, 15, "the survivor's client to get the event")
        assert b.health()[0] == 200
    finally:
        for reader in readers:
            reader.sock.close()
        a.kill()
        b.kill()
