-- vibed schema, version 20: each release keeps its public JSON, written once, read by every listing page.
--
-- A listing page that missed the edge cache had PostgreSQL write each release's JSON again: thirteen
-- to_json calls, the artists' names from jsonb, and a subquery for the artist ids, for every row of every
-- page (about 190 us of a backend's CPU per page of 25, more than the Express peer's whole query).  Now
--   vibed_release_json(r, artist_ids)  the one SQL writing of row_json(row) (vibed/store/releases.py),
--                                      byte for byte as json_bytes would write it, UTF-8;
--   releases.listed_json               that JSON, kept by the writer: vibed_write_release_json(ids) runs
--                                      in the writer's transaction after the artist index;
--   the triggers                       forget it (NULL) when anything it shows changes in any other way —
--                                      a release's columns, or its credits in release_artists;
--   the listing reads coalesce(listed_json, vibed_release_json(...)): a forgotten row is written afresh.
-- tests/test_release_json.py holds the function equal to json_bytes(row_json(row)) over hostile rows; a
-- change of row_json is a new migration that replaces the function and writes the column again.

ALTER TABLE releases ADD COLUMN IF NOT EXISTS listed_json bytea;

CREATE OR REPLACE FUNCTION vibed_release_json(r releases, artist_ids bigint[]) RETURNS bytea
LANGUAGE sql STABLE AS $$
    SELECT convert_to(
        '{"id":' || r.id::text
        || ',"source":' || coalesce(to_json(r.source)::text, 'null')
        || ',"external_id":' || coalesce(to_json(r.external_id)::text, 'null')
        || ',"kind":' || coalesce(to_json(r.kind)::text, 'null')
        || ',"title":' || coalesce(to_json(r.title)::text, 'null')
        -- [a.get("name", "") for a in artists]: a missing name is "", a JSON null stays null
        || ',"artists":' || coalesce((SELECT '[' || string_agg(coalesce((e.value -> 'name')::text, '""'), ','
                                                              ORDER BY e.n) || ']'
                                        FROM jsonb_array_elements(r.artists) WITH ORDINALITY AS e(value, n)), '[]')
        || ',"artist_ids":[' || array_to_string(artist_ids, ',') || ']'
        || ',"album":' || coalesce(to_json(r.album)::text, 'null')
        || ',"language":' || coalesce(to_json(r.language)::text, 'null')
        || ',"release_date":' || coalesce('"' || to_char(r.release_date, 'YYYY-MM-DD') || '"', 'null')
        || ',"year":' || coalesce(r.year::text, 'null')
        || ',"image":' || coalesce(to_json(r.image)::text, 'null')
        || ',"url":' || coalesce(to_json(r.url)::text, 'null')
        || ',"explicit":' || coalesce(r.explicit::text, 'null')
        -- utc_iso: milliseconds, truncated, and a Z
        || ',"first_seen":"' || to_char(r.first_seen AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') || '"}',
        'UTF8')
$$;

-- the writer, in its transaction, after vibed_index_artists: these releases' JSON with their credits
CREATE OR REPLACE FUNCTION vibed_write_release_json(ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    UPDATE releases r
       SET listed_json = vibed_release_json(r, (SELECT coalesce(array_agg(ra.artist_id ORDER BY ra.position), '{}')
                                                  FROM release_artists ra WHERE ra.release_id = r.id))
     WHERE r.id = ANY (ids)
$$;

-- a release whose shown columns change otherwise (the writer's upsert first, an operator's UPDATE) is
-- written afresh; an UPDATE of listed_json alone (the writer's) does not fire it
CREATE OR REPLACE FUNCTION vibed_forget_release_json() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.listed_json := NULL;
    RETURN NEW;
END
$$;
DROP TRIGGER IF EXISTS releases_forget_json ON releases;
CREATE TRIGGER releases_forget_json
    BEFORE UPDATE OF id, source, external_id, kind, title, artists, album, language, release_date, year, image,
                     url, explicit, first_seen ON releases
    FOR EACH ROW EXECUTE FUNCTION vibed_forget_release_json();

-- and so is a release whose credits change (the artist index re-filed, an artist deleted); in the writer's
-- transaction the row was already forgotten by its upsert, so this touches nothing there
CREATE OR REPLACE FUNCTION vibed_forget_credited_json() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        UPDATE releases SET listed_json = NULL WHERE id = OLD.release_id AND listed_json IS NOT NULL;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        UPDATE releases SET listed_json = NULL WHERE id = NEW.release_id AND listed_json IS NOT NULL;
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS release_artists_forget_json ON release_artists;
CREATE TRIGGER release_artists_forget_json
    AFTER INSERT OR UPDATE OR DELETE ON release_artists
    FOR EACH ROW EXECUTE FUNCTION vibed_forget_credited_json();

-- every release stored before this version
SELECT vibed_write_release_json(array_agg(id)) FROM releases;
