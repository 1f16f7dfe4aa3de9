-- vibed schema, version 22: the artist index's entity decoding can no longer refuse a release nor make a
-- name that hides or reorders text.
--
-- vibed_artist_name (0013) decodes the entities in a credited name.  A Spotify name is literal text, so
-- "&#55296;" reached chr(55296), a lone surrogate PostgreSQL refuses ("requested character not valid for
-- encoding"): the writer's batch failed and the release was skipped.  And "&#8238;" decoded to U+202E,
-- a bidi override, in the display name /api/artists shows.  Now an entity naming a surrogate decodes to
-- nothing, like one naming NUL or past U+10FFFF, and the decoded name loses what the fetch firewall
-- removes from upstream text (vibed/vocab/text.py): control characters, bidi embeddings, overrides and
-- isolates, zero-width space and joiners, the byte-order mark, U+FFFE/U+FFFF.  ZWJ/ZWNJ stay.

CREATE OR REPLACE FUNCTION vibed_artist_name(raw text) RETURNS text
LANGUAGE plpgsql IMMUTABLE STRICT AS $$
DECLARE
    s text := raw;
    m text[];
    c int;
BEGIN
    -- numeric entities (&#39; &#x27;) one by one, then the named ones upstreams send
    LOOP
        m := regexp_match(s, '&#([0-9]{1,7});');
        EXIT WHEN m IS NULL;
        c := m[1]::int;
        s := replace(s, '&#' || m[1] || ';',
                     CASE WHEN c BETWEEN 1 AND 1114111 AND c NOT BETWEEN 55296 AND 57343 THEN chr(c) ELSE '' END);
    END LOOP;
    LOOP
        m := regexp_match(s, '&#[xX]([0-9a-fA-F]{1,6});');
        EXIT WHEN m IS NULL;
        c := ('x' || lpad(m[1], 8, '0'))::bit(32)::int;
        s := regexp_replace(s, '&#[xX]' || m[1] || ';',
                            CASE WHEN c BETWEEN 1 AND 1114111 AND c NOT BETWEEN 55296 AND 57343
                                 THEN chr(c) ELSE '' END);
    END LOOP;
    s := replace(replace(replace(replace(replace(s, '&quot;', '"'), '&apos;', ''''), '&lt;', '<'), '&gt;', '>'),
                 '&nbsp;', ' ');
    s := replace(s, '&amp;', '&');
    s := regexp_replace(s, '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]',
                        '', 'g');
    RETURN btrim(regexp_replace(s, '\s+', ' ', 'g'));
END
$$;

-- names already in the index that such an entity made
UPDATE artists
   SET name = btrim(regexp_replace(name, '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]', '', 'g'))
 WHERE name ~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\ufffe\uffff]';
