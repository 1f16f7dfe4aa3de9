-- vibed schema, version 14: events stored before the artist index carry their releases' artist ids too.
--
-- A stream's replay reads `events.payload` from memory (the matcher reads its "artist_ids") and from the
-- database (filter_sql joins release_artists); an event written before version 13 has no "artist_ids", so
-- without this an artist= replay of it would answer differently from memory and from the database.

UPDATE events e
   SET payload = e.payload || jsonb_build_object('artist_ids', (
           SELECT coalesce(jsonb_agg(ra.artist_id ORDER BY ra.position), '[]'::jsonb)
             FROM release_artists ra WHERE ra.release_id = e.release_id))
 WHERE NOT (e.payload ? 'artist_ids');
