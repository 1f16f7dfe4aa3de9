-- rows stored before normalisation became a firewall: only web URLs, no far-future dates (which
-- sorted first in every list), no control characters in text that is shown
UPDATE releases SET url = NULL WHERE url IS NOT NULL AND url !~* '^https?://[^/?#\s]+';
UPDATE releases SET image = NULL WHERE image IS NOT NULL AND image !~* '^https?://[^/?#\s]+';
UPDATE releases SET release_date = NULL WHERE release_date > current_date + 60;
UPDATE releases SET year = NULL WHERE year > extract(year FROM current_date + 60);
UPDATE releases SET title = regexp_replace(title, '[[:cntrl:]]', '', 'g') WHERE title ~ '[[:cntrl:]]';
-- the same in the announced payloads a reconnecting client is replayed from
UPDATE events SET payload = jsonb_set(payload, '{url}', 'null')
 WHERE payload ? 'url' AND jsonb_typeof(payload->'url') = 'string' AND payload->>'url' !~* '^https?://[^/?#\s]+';
UPDATE events SET payload = jsonb_set(payload, '{image}', 'null')
 WHERE payload ? 'image' AND jsonb_typeof(payload->'image') = 'string' AND payload->>'image' !~* '^https?://[^/?#\s]+';
