-- vibed schema, version 23: rows stored before the fetch firewall removed invisible characters, user@host
-- links and placeholder dates (vibed/sources/firewall.py, vibed/vocab/text.py) are cleaned the same way,
-- as 0006 did for control characters, non-web URLs and far-future dates.
--
--   text (title, album, each credited name, artist_names): bidi embeddings, overrides and isolates,
--   zero-width space and joiners, the byte-order mark, U+FFFE/U+FFFF removed; U+2028/U+2029 a space.
--   ZWJ/ZWNJ stay (Indic scripts spell with them).
--   url, image: NULL when a user@ comes before the host ("https://www.jiosaavn.com@evil.example/").
--   release_date, year: NULL before 1900 ("0001-01-01" is a placeholder, not a date).
-- The same in the announced payloads a reconnecting client is replayed from.  A release's kept listing
-- JSON is forgotten by its trigger (0020) and written afresh on its next read.

CREATE FUNCTION pg_temp.visible(s text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT btrim(regexp_replace(regexp_replace(s, '[\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]',
                                               '', 'g'), '[\u2028\u2029]', ' ', 'g'))
$$;
CREATE FUNCTION pg_temp.hidden(s text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
    SELECT s ~ '[\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff\u2028\u2029]'
$$;
CREATE FUNCTION pg_temp.names(a jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
    -- credited artists: [{"id", "name"}] in releases, ["name"] in payloads
    SELECT coalesce(jsonb_agg(CASE
               WHEN jsonb_typeof(e) = 'string' THEN to_jsonb(pg_temp.visible(e #>> '{}'))
               WHEN jsonb_typeof(e) = 'object' AND jsonb_typeof(e->'name') = 'string'
                    THEN jsonb_set(e, '{name}', to_jsonb(pg_temp.visible(e->>'name')))
               ELSE e END ORDER BY n), '[]'::jsonb)
      FROM jsonb_array_elements(a) WITH ORDINALITY AS x(e, n)
$$;

UPDATE releases SET title = pg_temp.visible(title) WHERE pg_temp.hidden(title);
UPDATE releases SET album = pg_temp.visible(album) WHERE pg_temp.hidden(album);
UPDATE releases SET artists = pg_temp.names(artists), artist_names = pg_temp.visible(artist_names)
 WHERE jsonb_typeof(artists) = 'array' AND pg_temp.hidden(artists::text);
UPDATE releases SET url = NULL WHERE url ~* '^https?://[^/?#]*@';
UPDATE releases SET image = NULL WHERE image ~* '^https?://[^/?#]*@';
UPDATE releases SET release_date = NULL WHERE release_date < DATE '1900-01-01';
UPDATE releases SET year = NULL WHERE year < 1900;

UPDATE events SET payload = jsonb_set(payload, '{title}', to_jsonb(pg_temp.visible(payload->>'title')))
 WHERE jsonb_typeof(payload->'title') = 'string' AND pg_temp.hidden(payload->>'title');
UPDATE events SET payload = jsonb_set(payload, '{album}', to_jsonb(pg_temp.visible(payload->>'album')))
 WHERE jsonb_typeof(payload->'album') = 'string' AND pg_temp.hidden(payload->>'album');
UPDATE events SET payload = jsonb_set(payload, '{artists}', pg_temp.names(payload->'artists'))
 WHERE jsonb_typeof(payload->'artists') = 'array' AND pg_temp.hidden(payload->>'artists');
UPDATE events SET payload = jsonb_set(payload, '{url}', 'null')
 WHERE jsonb_typeof(payload->'url') = 'string' AND payload->>'url' ~* '^https?://[^/?#]*@';
UPDATE events SET payload = jsonb_set(payload, '{image}', 'null')
 WHERE jsonb_typeof(payload->'image') = 'string' AND payload->>'image' ~* '^https?://[^/?#]*@';
UPDATE events SET payload = jsonb_set(payload, '{release_date}', 'null')
 WHERE jsonb_typeof(payload->'release_date') = 'string' AND payload->>'release_date' < '1900-01-01';
UPDATE events SET payload = jsonb_set(payload, '{year}', 'null')
 WHERE jsonb_typeof(payload->'year') = 'number' AND (payload->>'year')::numeric < 1900;

DROP FUNCTION pg_temp.names(jsonb);
DROP FUNCTION pg_temp.hidden(text);
DROP FUNCTION pg_temp.visible(text);
