-- `vibed backfill`: how far back each (source, scope) has been walked, so an interrupted run resumes
CREATE TABLE IF NOT EXISTS backfill_state (
    source      text        NOT NULL,
    scope       text        NOT NULL,
    next_page   integer     NOT NULL DEFAULT 1,   -- the first page not yet stored
    oldest      date,                             -- the oldest release date stored so far
    exhausted   boolean     NOT NULL DEFAULT false, -- upstream said last_page: nothing older to walk
    requests    integer     NOT NULL DEFAULT 0,   -- upstream requests spent by backfills, all runs
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, scope)
);
