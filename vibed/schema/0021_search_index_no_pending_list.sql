-- vibed schema, version 21: a search (`q=`) never walks a long pending list of recent writes.
--
-- The listing's search is answered from the trigram indexes of 0003_listing.sql.  A GIN index files new
-- entries into a pending list, merged into the index by VACUUM, autoanalyze, or when the list outgrows
-- gin_pending_list_limit (4 MB by default); every search meanwhile reads the whole list.  After 10,000 new
-- releases (each written twice now: the upsert, then its kept JSON, 0020) a search of 100,000 releases cost
-- PostgreSQL 10 ms of CPU instead of 2 ms, until autovacuum came.  With a 256 kB list a search stays at
-- 2.3 ms and the writer keeps the batched merge (no entry at a time: that doubled its cost per release).

DO $$
DECLARE
    idx text;
BEGIN
    FOREACH idx IN ARRAY ARRAY['releases_title_trgm', 'releases_artist_names_trgm'] LOOP
        IF to_regclass(idx) IS NOT NULL THEN   -- absent where the server has no pg_trgm (0003_listing.sql)
            EXECUTE format('ALTER INDEX %I SET (fastupdate = on, gin_pending_list_limit = 256)', idx);
            PERFORM gin_clean_pending_list(to_regclass(idx));
        END IF;
    END LOOP;
END
$$;
