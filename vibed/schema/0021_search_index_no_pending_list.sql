-- vibed schema, version 21: a search (`q=`) never walks a pending list of recent writes.
--
-- The listing's search is answered from the trigram indexes of 0003_listing.sql.  A GIN index by default
-- files new entries into a pending list, merged into the index only by VACUUM or autoanalyze; every search
-- meanwhile reads that whole list.  After 10,000 new releases (each written twice now: the upsert, then its
-- kept JSON, 0020) a search of 100,000 releases cost PostgreSQL 5.7 ms of CPU instead of 1.7 ms, until
-- autovacuum came.  vibed reads far more than it writes, so the indexes take their entries at once (about
-- 0.1 ms more per stored release) and the list left now is merged here.

DO $$
DECLARE
    idx text;
BEGIN
    FOREACH idx IN ARRAY ARRAY['releases_title_trgm', 'releases_artist_names_trgm'] LOOP
        IF to_regclass(idx) IS NOT NULL THEN   -- absent where the server has no pg_trgm (0003_listing.sql)
            EXECUTE format('ALTER INDEX %I SET (fastupdate = off)', idx);
            PERFORM gin_clean_pending_list(to_regclass(idx));
        END IF;
    END LOOP;
END
$$;
