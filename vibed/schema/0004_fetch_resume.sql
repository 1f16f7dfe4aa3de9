-- a run cut short (failure, empty bucket, page cap) after storing pages with new releases leaves the
-- next run a floor: keep paging past the "nothing new" stop until this page, so nothing is skipped
ALTER TABLE fetch_state ADD COLUMN IF NOT EXISTS resume_pages integer NOT NULL DEFAULT 0;
