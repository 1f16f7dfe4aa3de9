-- vibed schema, version 19: a name alone no longer makes two upstream artists one person (issue 20).
--
-- Version 13 filed every credit under its normalised name: two different people who share a name (two
-- JioSaavn ids spelt "Anirudh") became one artist, and so did any Spotify credit of that name.  Now a credit
-- whose upstream id is new joins an artist of the same key only when something besides the name says they
-- are one person — co-occurrence:
--   * a shared co-artist: a release of that artist credits someone whose key is another credit's of this one;
--   * a shared release: one of that artist's 500 latest releases has this release's title (normalised like a
--     name): the same album on JioSaavn and on Spotify.
-- An artist known by no upstream id at all (credits without ids) is joined by its name as before: nothing
-- says it is someone else.  A credit without an id joins the co-occurring artist of its key, else the oldest.
-- Otherwise the credit starts a new artist, so `artists.key` is no longer unique.  Artists already merged by
-- version 13 stay as they are (their ids are in watches and in events' payloads).
--
-- Writers call this under their advisory lock (vibed/store/releases.py); the function takes it too (the
-- same lock is re-entrant in one transaction), so two transactions never both start one new person.

ALTER TABLE artists DROP CONSTRAINT IF EXISTS artists_key_key;
CREATE INDEX IF NOT EXISTS artists_by_key ON artists (key);

-- the artist of `key` that co-occurs with release `rel` (whose other credits have `co_keys`); NULL when none
CREATE OR REPLACE FUNCTION vibed_cooccurring_artist(key text, rel bigint, co_keys text[]) RETURNS bigint
LANGUAGE sql STABLE AS $$
    SELECT a.id FROM artists a
     WHERE a.key = $1
       AND (EXISTS (SELECT 1 FROM release_artists ra
                      JOIN release_artists co ON co.release_id = ra.release_id AND co.artist_id <> ra.artist_id
                      JOIN artists ca ON ca.id = co.artist_id
                     WHERE ra.artist_id = a.id AND ra.release_id <> $2 AND ca.key = ANY ($3))
            OR EXISTS (SELECT 1 FROM (SELECT x.title FROM release_artists ra JOIN releases x ON x.id = ra.release_id
                                       WHERE ra.artist_id = a.id AND x.id <> $2
                                       ORDER BY ra.release_id DESC LIMIT 500) recent,  -- the newest: bounded work
                                      (SELECT vibed_artist_key(title) AS k FROM releases WHERE id = $2) mine
                        WHERE mine.k <> '' AND vibed_artist_key(recent.title) = mine.k))
     ORDER BY a.id LIMIT 1
$$;

CREATE OR REPLACE FUNCTION vibed_index_artists(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    aid bigint;
    k text;
BEGIN
    PERFORM pg_advisory_xact_lock(7669626564);   -- the writers' lock (vibed/store/releases.py)
    DELETE FROM release_artists WHERE release_id = ANY (ids);
    FOR r IN SELECT rel.id AS release_id, rel.source, a.ord, nullif(btrim(a.value->>'id'), '') AS ext,
                    coalesce(a.value->>'name', '') AS name,
                    ARRAY(SELECT vibed_artist_key(coalesce(o.value->>'name', ''))
                            FROM jsonb_array_elements(CASE jsonb_typeof(rel.artists) WHEN 'array'
                                                      THEN rel.artists ELSE '[]'::jsonb END)
                                 WITH ORDINALITY AS o(value, ord)
                           WHERE o.ord <> a.ord AND jsonb_typeof(o.value) = 'object') AS co_keys
               FROM releases rel, jsonb_array_elements(CASE jsonb_typeof(rel.artists) WHEN 'array'
                                                       THEN rel.artists ELSE '[]'::jsonb END)
                                  WITH ORDINALITY AS a(value, ord)
              WHERE rel.id = ANY (ids) AND jsonb_typeof(a.value) = 'object'
              ORDER BY rel.id, a.ord
    LOOP
        aid := NULL;
        k := vibed_artist_key(r.name);
        IF r.ext IS NOT NULL THEN
            SELECT artist_id INTO aid FROM artist_ids WHERE source = r.source AND external_id = r.ext;
        END IF;
        IF aid IS NULL AND k <> '' THEN
            aid := vibed_cooccurring_artist(k, r.release_id, array_remove(r.co_keys, k));
            IF aid IS NULL THEN
                SELECT a.id INTO aid FROM artists a
                 WHERE a.key = k
                   AND (r.ext IS NULL OR NOT EXISTS (SELECT 1 FROM artist_ids i WHERE i.artist_id = a.id))
                 ORDER BY a.id LIMIT 1;
            END IF;
            IF aid IS NULL THEN
                INSERT INTO artists (key, name) VALUES (k, vibed_artist_name(r.name)) RETURNING id INTO aid;
            END IF;
        END IF;
        CONTINUE WHEN aid IS NULL;
        IF r.ext IS NOT NULL THEN
            INSERT INTO artist_ids (source, external_id, artist_id) VALUES (r.source, r.ext, aid)
            ON CONFLICT DO NOTHING;
        END IF;
        INSERT INTO release_artists (release_id, artist_id, position) VALUES (r.release_id, aid, r.ord)
        ON CONFLICT DO NOTHING;
    END LOOP;
END
$$;
