-- vibed schema, version 13: the artist index, built from every stored release (old rows included).
--
--   artists          one person across sources: id, normalised name (key), display name
--   artist_ids       (source, upstream artist id) -> artist; a source may know one person by several ids
--   release_artists  which artists made which release, in credit order
--
-- One implementation in SQL, so the backfill below and the writer's transaction (vibed/store/artists.py
-- calls vibed_index_artists on the releases it upserts) cannot disagree:
--   vibed_artist_name(text)   the display name: HTML entities decoded, spacing collapsed
--   vibed_artist_key(text)    the normalised name: that, lower-cased, diacritics and punctuation gone,
--                             runs of initials joined ("A. R. Rahman", "A.R. Rahman", "AR Rahman" -> "ar rahman")
-- An artist is found by its upstream id first, then by its key; a new id for a known key joins that artist,
-- so a JioSaavn and a Spotify release of the same person share one artist.

CREATE OR REPLACE FUNCTION vibed_artist_name(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    s text := raw;
    m text[];
BEGIN
    -- numeric entities (&#39; &#x27;) one by one, then the named ones upstreams send
    LOOP
        m := regexp_match(s, '&#([0-9]{1,7});');
        EXIT WHEN m IS NULL;
        s := replace(s, '&#' || m[1] || ';',
                     CASE WHEN m[1]::int BETWEEN 1 AND 1114111 THEN chr(m[1]::int) ELSE '' END);
    END LOOP;
    LOOP
        m := regexp_match(s, '&#[xX]([0-9a-fA-F]{1,6});');
        EXIT WHEN m IS NULL;
        s := regexp_replace(s, '&#[xX]' || m[1] || ';',
                            CASE WHEN ('x' || lpad(m[1], 8, '0'))::bit(32)::int BETWEEN 1 AND 1114111
                                 THEN chr(('x' || lpad(m[1], 8, '0'))::bit(32)::int) ELSE '' END);
    END LOOP;
    s := replace(replace(replace(replace(replace(s, '&quot;', '"'), '&apos;', ''''), '&lt;', '<'), '&gt;', '>'),
                 '&nbsp;', ' ');
    s := replace(s, '&amp;', '&');
    RETURN btrim(regexp_replace(s, '\s+', ' ', 'g'));
END
$$;

CREATE OR REPLACE FUNCTION vibed_artist_key(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    s text := vibed_artist_name(raw);
    word text;
    words text[] := '{}';
    initials text := '';
BEGIN
    -- diacritics first: lower() of a database in the C locale knows only ASCII, and É is E + a mark
    s := lower(regexp_replace(normalize(s, NFD), '[\u0300-\u036f]', '', 'g'));
    s := regexp_replace(s, '[.,''"’‘`´\-_/\\()\[\]!?:;*~|]+', ' ', 'g');  -- punctuation is spacing
    FOREACH word IN ARRAY regexp_split_to_array(btrim(regexp_replace(s, '\s+', ' ', 'g')), ' ') LOOP
        IF char_length(word) = 1 THEN  -- an initial: runs of them are one word ("a r" -> "ar")
            initials := initials || word;
        ELSE
            IF initials <> '' THEN words := words || initials; initials := ''; END IF;
            IF word <> '' THEN words := words || word; END IF;
        END IF;
    END LOOP;
    IF initials <> '' THEN words := words || initials; END IF;
    RETURN array_to_string(words, ' ');
END
$$;

CREATE TABLE IF NOT EXISTS artists (
    id          bigserial   PRIMARY KEY,
    key         text        NOT NULL UNIQUE CHECK (key <> ''),   -- vibed_artist_key of the name
    name        text        NOT NULL,                            -- as first seen, vibed_artist_name
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS artist_ids (
    source       text   NOT NULL,
    external_id  text   NOT NULL,
    artist_id    bigint NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    PRIMARY KEY (source, external_id)
);
CREATE INDEX IF NOT EXISTS artist_ids_by_artist ON artist_ids (artist_id);

CREATE TABLE IF NOT EXISTS release_artists (
    release_id  bigint  NOT NULL REFERENCES releases (id) ON DELETE CASCADE,
    artist_id   bigint  NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    position    integer NOT NULL,                                -- credit order, from 1
    PRIMARY KEY (release_id, artist_id)
);
CREATE INDEX IF NOT EXISTS release_artists_by_artist ON release_artists (artist_id, release_id);

-- the index of these releases, rebuilt from their `artists` column (the writer calls it inside its transaction)
CREATE OR REPLACE FUNCTION vibed_index_artists(ids bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    r record;
    aid bigint;
    k text;
BEGIN
    DELETE FROM release_artists WHERE release_id = ANY (ids);
    FOR r IN SELECT rel.id AS release_id, rel.source, a.ord, nullif(btrim(a.value->>'id'), '') AS ext,
                    coalesce(a.value->>'name', '') AS name
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
            SELECT id INTO aid FROM artists WHERE key = k;
            IF aid IS NULL THEN
                INSERT INTO artists (key, name) VALUES (k, vibed_artist_name(r.name))
                ON CONFLICT (key) DO UPDATE SET key = EXCLUDED.key RETURNING id INTO aid;
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

-- the backfill: every release stored before this version, oldest first (so a name is kept as first seen)
SELECT vibed_index_artists(array_agg(id ORDER BY id)) FROM releases;

-- artist search ranks by trigram similarity of the key (pg_trgm, when the server has it: 0003_listing)
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX IF NOT EXISTS artists_key_trgm ON artists USING gin (key gin_trgm_ops);
    END IF;
END
$$;
