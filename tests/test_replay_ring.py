"""The ring of recent events, without sockets or a database: what it vouches for, and what it must not."""

from __future__ import annotations

from vibed.delivery.frames import event_frame
from vibed.delivery.replay import Replayer
from vibed.delivery.ring import RecentEvents
from vibed.vocab.messages import StoredEvent
from vibed.vocab.release_filter import EVERYTHING, ReleaseFilter


def event(event_id: int, language: str = "ml", size: int = 10) -> StoredEvent:
    payload = {"id": event_id, "language": language, "kind": "album", "title": "x" * size}
    return StoredEvent(id=event_id, kind="new_release", release_id=event_id, source="jiosaavn", language=language,
                       release_kind="album", payload=payload)


def ring_of(*ids: int, complete: bool = True, **limits: int) -> RecentEvents:
    ring = RecentEvents(**limits)
    ring.load_nowait([event(i) for i in ids], complete=complete)
    return ring


def ids_since(ring: RecentEvents, last_id: int, flt: ReleaseFilter = EVERYTHING) -> list[int] | None:
    window = ring.since(flt, last_id)
    return None if window is None else [e.id for e in window.events]


def test_a_complete_load_vouches_for_every_id_from_zero():
    ring = ring_of(1, 2, 3)
    assert (ring.floor, ring.newest) == (0, 3)
    assert ids_since(ring, 0) == [1, 2, 3] and ids_since(ring, 2) == [3] and ids_since(ring, 3) == []


def test_a_partial_load_vouches_only_from_the_id_before_its_oldest():
    ring = ring_of(5, 6, 7, complete=False)
    assert ring.floor == 4
    assert ids_since(ring, 4) == [5, 6, 7]
    assert ids_since(ring, 3) is None  # older than the ring: the database must answer


def test_eviction_by_count_and_by_bytes_moves_the_floor_up():
    ring = ring_of(1, 2, 3, 4, 5, max_events=3)
    assert (ring.floor, len(ring)) == (2, 3) and ids_since(ring, 1) is None and ids_since(ring, 2) == [3, 4, 5]
    small = RecentEvents(max_bytes=3 * len(event_frame(event(1)).body))
    small.load_nowait([event(i) for i in range(1, 7)], complete=True)
    assert (small.floor, len(small)) == (3, 3) and small.bytes <= small.max_bytes


def test_a_hole_inside_the_window_is_an_unknown_id_and_gets_a_reset():
    ring = ring_of(1, 2, 4)  # 3 was rolled back: no client was ever sent it
    assert ids_since(ring, 3) is None and ring.covers(3)
    replay = Replayer(db=None, ring=ring).plan_nowait(EVERYTHING, 3)  # type: ignore[arg-type]
    assert replay is not None and replay.reset == "event id 3 is unknown" and replay.floor == 4


def test_an_unloaded_ring_vouches_for_nothing():
    ring = RecentEvents()
    ring.append_nowait(event(1), event_frame(event(1)))
    assert ids_since(ring, 0) is None and not ring.covers(1)


def test_filters_select_and_the_resume_point_is_the_newest():
    ring = RecentEvents()
    ring.load_nowait([event(1, "ml"), event(2, "hi"), event(3, "ml"), event(4, "hi")], complete=True)
    hindi = ReleaseFilter(languages=frozenset({"hi"}))
    assert ids_since(ring, 0, hindi) == [2, 4]
    replay = Replayer(db=None, ring=ring).plan_nowait(ReleaseFilter(languages=frozenset({"ml"})), 3)  # type: ignore[arg-type]
    assert replay is not None and replay.events == () and replay.floor == 4  # past the hindi ones


def test_appends_are_in_id_order_and_never_twice():
    ring = ring_of(1, 2)
    ring.append_nowait(event(2), event_frame(event(2)))
    ring.append_nowait(event(3), event_frame(event(3)))
    assert ids_since(ring, 0) == [1, 2, 3]


def test_a_crowd_between_two_events_shares_one_replay_and_a_new_event_ends_the_sharing():
    ring = ring_of(1, 2, 3)
    replayer = Replayer(db=None, ring=ring)  # type: ignore[arg-type]
    first, second = replayer.plan_nowait(EVERYTHING, 1), replayer.plan_nowait(EVERYTHING, 1)
    assert first is second and [e.id for e in first.events] == [2, 3]  # type: ignore[union-attr]
    ring.append_nowait(event(4), event_frame(event(4)))
    third = replayer.plan_nowait(EVERYTHING, 1)
    assert third is not first and [e.id for e in third.events] == [2, 3, 4]  # type: ignore[union-attr]
    assert replayer.statistics().from_memory == 3
