-- An operator's change to a bucket never credits time before the change.
--
-- The level is computed at take time as tokens + refill_rate * (now - last_refill).  Left alone,
-- `SET tokens = 0` would be refilled for all the time since the last take (a full bucket at once),
-- and `SET refill_rate = 2000` would pay the hours before the change at the new rate.  So an
-- UPDATE that does not set last_refill itself is made "as of now":
--   * tokens set   -> the level is that value now (last_refill = now);
--   * rate, size or interval set -> the time so far is settled at the old rate and size, then the
--     new ones run from now.
-- An UPDATE that sets last_refill (the take statement, or an operator who means it) is left alone.
-- `UPDATE OF col` fires when the column is named in SET, even with an unchanged value.

CREATE OR REPLACE FUNCTION rate_limit_tokens_tokens_now() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.last_refill = OLD.last_refill THEN
        NEW.last_refill := GREATEST(OLD.last_refill, clock_timestamp());
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION rate_limit_tokens_settle() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    at timestamptz;
BEGIN
    IF NEW.last_refill <> OLD.last_refill THEN
        RETURN NEW;  -- tokens were set as of now (above), or last_refill was given
    END IF;
    at := GREATEST(OLD.last_refill, clock_timestamp());
    NEW.tokens := LEAST(NEW.max_tokens, OLD.max_tokens,
                        OLD.tokens + OLD.refill_rate * EXTRACT(EPOCH FROM at - OLD.last_refill)
                                     / EXTRACT(EPOCH FROM OLD.refill_interval));
    NEW.last_refill := at;
    RETURN NEW;
END
$$;

-- triggers of one event fire in name order: "a" (tokens given) before "b" (rate changed)
DROP TRIGGER IF EXISTS rate_limit_tokens_a_tokens_now ON rate_limit_tokens;
CREATE TRIGGER rate_limit_tokens_a_tokens_now
    BEFORE UPDATE OF tokens ON rate_limit_tokens
    FOR EACH ROW EXECUTE FUNCTION rate_limit_tokens_tokens_now();

DROP TRIGGER IF EXISTS rate_limit_tokens_b_settle ON rate_limit_tokens;
CREATE TRIGGER rate_limit_tokens_b_settle
    BEFORE UPDATE OF max_tokens, refill_rate, refill_interval ON rate_limit_tokens
    FOR EACH ROW EXECUTE FUNCTION rate_limit_tokens_settle();
