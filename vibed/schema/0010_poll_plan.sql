-- when a (source, scope) was last polled by any daemon: the adaptive planner's shared cadence
-- (vibed/store/fetch_state.py claim_poll: no second poll within the minimum gap, across daemons)
ALTER TABLE fetch_state ADD COLUMN IF NOT EXISTS last_poll timestamptz;
-- the learned release rates read first_seen per language over the last weeks
CREATE INDEX IF NOT EXISTS releases_source_language_first_seen ON releases (source, language, first_seen);
