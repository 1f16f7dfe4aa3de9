-- vibed schema, version 3: indexes for the public listing (GET /api/new-releases).

-- "releases of one source, newest first" (the `source` filter without a language)
CREATE INDEX IF NOT EXISTS releases_source_newest
    ON releases (source, (coalesce(release_date, '0001-01-01'::date)) DESC, first_seen DESC, id DESC);

-- `q` is a substring ILIKE on title / artist names.  Trigram indexes make it an index scan, but
-- pg_trgm is a contrib extension that not every server ships or lets us create: without it the
-- search stays correct and scans the (filtered) listing order instead.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') THEN
        BEGIN
            CREATE EXTENSION IF NOT EXISTS pg_trgm;
            CREATE INDEX IF NOT EXISTS releases_title_trgm ON releases USING gin (title gin_trgm_ops);
            CREATE INDEX IF NOT EXISTS releases_artist_names_trgm
                ON releases USING gin (artist_names gin_trgm_ops);
        EXCEPTION WHEN insufficient_privilege OR feature_not_supported OR undefined_file THEN
            RAISE NOTICE 'pg_trgm unavailable (%); q= searches scan without a trigram index', SQLERRM;
        END;
    END IF;
END
$$;
