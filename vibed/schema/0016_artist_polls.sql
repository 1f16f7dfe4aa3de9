-- vibed schema, version 16: followed artists are polled on their own page, as scopes of fetch_state.
--
-- A followed artist is the scope 'artist:<JioSaavn artist id>' of source 'jiosaavn': claims (last_slot,
-- last_poll: two daemons never poll one artist within the gap), back-off and resume work as for a language.
-- first_poll says since when a scope has been watched, so a learned rate divides by the right exposure
-- (vibed/follow/history.py): an artist followed yesterday has one day of watching, not four weeks.
ALTER TABLE fetch_state ADD COLUMN IF NOT EXISTS first_poll timestamptz DEFAULT now();
UPDATE fetch_state SET first_poll = least(first_poll, last_success, last_failure, last_poll)
 WHERE first_poll IS NOT NULL;
-- the planner reads the artist scopes' rows on every pass
CREATE INDEX IF NOT EXISTS fetch_state_artist_scopes ON fetch_state (source, scope) WHERE scope LIKE 'artist:%';
