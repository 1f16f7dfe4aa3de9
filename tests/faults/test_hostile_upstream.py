"""A hostile upstream (the simulator's ``hostile``, ``huge`` and 429 faults) against a running daemon."""

from __future__ import annotations

import time
from typing import Any

from tests.faults.conftest import LiveDaemon, record
from vibed.simulator.hostile import poisons_for


def inject(live: LiveDaemon, **fault: Any) -> None:
    status, body, _ = live.call("POST", f"{live.sim}/_sim/faults", fault)
    assert status == 201, body


def fresh_releases(live: LiveDaemon, count: int = 3) -> set[str]:
    ids: set[str] = set()
    for language in ("ml", "hi"):
        status, body, _ = live.call("POST", f"{live.sim}/_sim/release", {"language": language, "count": count})
        assert status == 201
        ids.update(r["id"] for r in body["releases"] if r["language"] == language)
    return ids


def crashes(live: LiveDaemon) -> int:
    return sum(1 for e in live.daemon.events() if e["event"] == "actor_crashed")


def test_retry_after_inf_and_1e12_back_off_a_day_at_most_and_crash_nothing(live_daemon: LiveDaemon) -> None:
    live = live_daemon
    live.pass_backoff()
    before = crashes(live)
    inject(live, kind="status_429", language="ml", retry_after="inf", count=1)
    inject(live, kind="status_429", language="hi", retry_after="1e12", count=1)
    round_id = live.round()
    errors = [e for e in live.daemon.events() if e["event"] == "fetch_error" and e.get("kind") == "rate_limited"]
    assert {e["language"] for e in errors[-2:]} == {"ml", "hi"}
    assert all(0 < e["retry_in"] <= 86400 for e in errors[-2:]), errors[-2:]
    assert crashes(live) == before
    status, body, _ = live.api("GET", "/api/health")
    assert status == 200 and body["actors"]["fetcher-1"]["state"] == "running"
    live.pass_backoff()
    assert round_id  # the round's id changes every run: the table row leaves it out, to stay reproducible
    record("upstream `Retry-After: inf` / `1e12`", f"back-off {errors[-1]['retry_in']:,.0f} s (cap 86,400), no crash")


def test_nul_bytes_script_urls_2099_and_month_dates_are_cleaned_and_every_clean_item_stored(
        live_daemon: LiveDaemon) -> None:
    live = live_daemon
    live.pass_backoff()
    before = crashes(live)
    fresh = fresh_releases(live)
    inject(live, kind="hostile", source="jiosaavn", count=2)
    inject(live, kind="hostile", source="spotify", count=1)
    live.round()
    stored = set(live.sql("SELECT external_id FROM releases").split())
    assert fresh <= stored, f"clean items not stored: {fresh - stored}"
    hostile = live.sql("SELECT external_id FROM releases WHERE external_id LIKE 'hostile-%' ORDER BY 1").split()
    # each language's page 1 and Spotify's get their poisons (vibed/simulator/hostile.py), one row each
    assert len(hostile) == len(poisons_for("jiosaavn")) * 2 + len(poisons_for("spotify")), hostile
    assert live.sql("SELECT count(*) FROM releases WHERE url !~ '^https?://' OR image !~ '^https?://'") == "0"
    assert live.sql("SELECT count(*) FROM releases WHERE title ~ '[[:cntrl:]]' OR raw::text LIKE '%\\\\u0000%'") == "0"
    assert live.sql("SELECT count(*) FROM releases WHERE release_date > current_date + 60 OR year > 2030") == "0"
    month_events = live.sql("SELECT count(*) FROM events e JOIN releases r ON r.id = e.release_id"
                            " WHERE r.external_id LIKE 'hostile-month-%'")
    assert month_events == "0", "a release dated only to May 2019 was announced as new"
    status, page, _ = live.api("GET", "/api/new-releases?limit=5")
    assert status == 200 and not any("hostile-far_future" in r["external_id"] for r in page["data"])
    assert crashes(live) == before
    record("hostile items: NUL bytes, `javascript:`/`data:` URLs, 2099 dates, month precision",
           f"{len(hostile)} hostile items stored clean (no NUL, no non-http URL, no 2099 date, "
           "0 month-dated events); every clean item stored")


def test_a_5_mb_page_and_a_slow_answer_leave_the_daemon_up(live_daemon: LiveDaemon) -> None:
    live = live_daemon
    live.pass_backoff()
    before = crashes(live)
    fresh = fresh_releases(live, 1)
    inject(live, kind="huge", language="ml", count=1)
    inject(live, kind="slow", language="hi", delay=2, count=1)
    live.round(timeout=60)
    stored = set(live.sql("SELECT external_id FROM releases").split())
    assert fresh <= stored
    assert crashes(live) == before
    status, _, took = live.api("GET", "/api/health")
    assert status == 200 and took < 2
    record("5 MB page, slow answer", f"daemon up, {len(fresh)} new items stored")


def test_a_slow_drip_is_cut_at_the_upstream_timeout(live_daemon: LiveDaemon) -> None:
    live = live_daemon
    live.pass_backoff()
    before = crashes(live)
    # 64 bytes every 0.2 s: each read is quick, the whole page would take minutes
    inject(live, kind="drip", language="ml", delay=0.2, count=1)
    started = time.monotonic()
    live.round(timeout=60)
    took = time.monotonic() - started
    errors = [e for e in live.daemon.events() if e["event"] == "fetch_error" and e.get("language") == "ml"]
    assert errors and errors[-1]["kind"] == "timeout", errors[-1:]
    assert took < 4 + 5, "bounded by VIBED_UPSTREAM_TIMEOUT (4 s here), not by the drip"
    assert crashes(live) == before
    status, _, _ = live.api("GET", "/api/health")
    assert status == 200
    live.pass_backoff()
    record("slow drip (64 B every 0.2 s)", f"cut after {took:.1f} s (the suite's `VIBED_UPSTREAM_TIMEOUT`) as a "
           "timeout; daemon up")


def test_a_429_reason_utf8_cannot_hold_is_logged_clean_and_crashes_nothing(live_daemon: LiveDaemon) -> None:
    # a lone surrogate (valid in JSON, not in UTF-8) and a NUL in Spotify's 429 "reason": quoted raw into the
    # fetch_error line, writing that line raised in the fetcher, and PostgreSQL refused it as last_error
    live = live_daemon
    live.pass_backoff()
    before = crashes(live)
    inject(live, kind="status_429", source="spotify", reason="QUOTA\ud800\x00EXCEEDED", retry_after=1, count=1)
    live.round()
    errors = [e for e in live.daemon.events() if e["event"] == "fetch_error" and e.get("source") == "spotify"]
    assert crashes(live) == before, [e for e in live.daemon.events() if e["event"] == "actor_crashed"]
    assert errors and errors[-1]["detail"].endswith("(QUOTAEXCEEDED)"), errors[-1:]
    assert live.sql("SELECT last_error FROM fetch_state WHERE source = 'spotify'").endswith("(QUOTAEXCEEDED)")
    status, _, _ = live.api("GET", "/api/health")
    assert status == 200
    live.pass_backoff()
    record("Spotify 429 whose `reason` holds a lone surrogate and a NUL",
           "logged and recorded as one clean line, no actor crashed")
