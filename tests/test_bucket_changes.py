"""An operator's change to a bucket counts from the moment it is made (schema/0007's triggers).

The guide's procedure is an ``UPDATE rate_limit_tokens …`` in psql; ``vibed bucket set`` runs the
same statement.  Neither may credit the time before the change at the new values.
"""

from __future__ import annotations

import pytest

from vibed.store import bucket

HOURS_6 = "6 hours"


async def six_hours_since_refill(db, *, tokens: float, max_tokens: float = 1000, rate: float = 1000) -> None:
    # the state a take six hours ago left behind (last_refill named, so the triggers stand aside)
    await db.execute("UPDATE rate_limit_tokens SET tokens=$1, max_tokens=$2, refill_rate=$3, "
                     "refill_interval='1 day', last_refill = now() - $4::text::interval "
                     "WHERE service_name='jiosaavn'", tokens, max_tokens, rate, HOURS_6)


async def test_tokens_zero_without_last_refill_empties_the_bucket(db):
    await six_hours_since_refill(db, tokens=100)  # 100 + 250 accrued
    await db.execute("UPDATE rate_limit_tokens SET tokens=0 WHERE service_name='jiosaavn'")
    state = await bucket.peek(db, "jiosaavn")
    assert state.tokens < 0.1  # not 250: the six hours before the change are not credited
    assert not (await bucket.take(db, "jiosaavn")).granted


async def test_tokens_set_to_its_stored_value_still_means_now(db):
    await six_hours_since_refill(db, tokens=0)  # stored 0, but 250 accrued
    await db.execute("UPDATE rate_limit_tokens SET tokens=0 WHERE service_name='jiosaavn'")
    assert (await bucket.peek(db, "jiosaavn")).tokens < 0.1


async def test_a_new_rate_pays_the_time_before_it_at_the_old_rate(db):
    await six_hours_since_refill(db, tokens=0, max_tokens=2000, rate=1000)  # 250 accrued at 1000/day
    await db.execute("UPDATE rate_limit_tokens SET max_tokens=2000, refill_rate=4000 WHERE service_name='jiosaavn'")
    state = await bucket.peek(db, "jiosaavn")
    assert state.tokens == pytest.approx(250, abs=0.5)  # at the new rate it would be 1000
    assert (state.max_tokens, state.refill_rate) == (2000, 4000)


async def test_a_smaller_bucket_caps_what_was_accrued(db):
    await six_hours_since_refill(db, tokens=900)  # 1000 (capped) by now
    await db.execute("UPDATE rate_limit_tokens SET max_tokens=300 WHERE service_name='jiosaavn'")
    assert (await bucket.peek(db, "jiosaavn")).tokens == pytest.approx(300)


async def test_rate_and_tokens_together_start_from_the_tokens_given(db):
    await six_hours_since_refill(db, tokens=0)
    await db.execute("UPDATE rate_limit_tokens SET tokens=10, max_tokens=2000, refill_rate=2000 "
                     "WHERE service_name='jiosaavn'")
    assert (await bucket.peek(db, "jiosaavn")).tokens == pytest.approx(10, abs=0.1)


async def test_an_explicit_last_refill_is_the_operators_word(db):
    await six_hours_since_refill(db, tokens=0)
    await db.execute("UPDATE rate_limit_tokens SET tokens=0, last_refill = now() - interval '12 hours' "
                     "WHERE service_name='jiosaavn'")
    assert (await bucket.peek(db, "jiosaavn")).tokens == pytest.approx(500, abs=0.5)


async def test_change_is_the_guides_update_and_counts_from_now(db):
    await six_hours_since_refill(db, tokens=0)  # 250 accrued at 1000/day
    state = await bucket.change(db, "jiosaavn", max_tokens=2000, per_day=2000)
    assert (state.max_tokens, state.refill_rate, state.interval_s) == (2000, 2000, 86400)
    assert state.tokens == pytest.approx(250, abs=0.5)
    state = await bucket.change(db, "jiosaavn", tokens=0)
    assert state.tokens < 0.1 and state.next_token_s == pytest.approx(86400 / 2000, rel=0.01)
    with pytest.raises(bucket.UnknownService, match="'nosuch'"):
        await bucket.change(db, "nosuch", tokens=1)


async def test_takes_are_unchanged_by_the_triggers(db):
    await six_hours_since_refill(db, tokens=0)
    grant = await bucket.take(db, "jiosaavn")
    assert grant.granted and grant.remaining == pytest.approx(249, abs=0.05)
    grant = await bucket.take(db, "jiosaavn")
    assert grant.granted and grant.remaining == pytest.approx(248, abs=0.05)
