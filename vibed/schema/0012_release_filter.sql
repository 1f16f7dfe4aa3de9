-- vibed schema, version 12: a webhook subscription keeps the one release filter (vibed/vocab/release_filter.py).
--
-- languages, sources, kinds and artists are each a set (NULL = no restriction on that part), as on the list
-- API and the streams; the writer matches new events against them with the filter's own matcher.  The single
-- source and kind of earlier rows become one-element sets.

ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS sources text[];
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS kinds text[];
ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS artists bigint[];
UPDATE webhooks SET sources = ARRAY[source] WHERE source IS NOT NULL AND sources IS NULL;
UPDATE webhooks SET kinds = ARRAY[kind] WHERE kind IS NOT NULL AND kinds IS NULL;
ALTER TABLE webhooks DROP COLUMN IF EXISTS source;
ALTER TABLE webhooks DROP COLUMN IF EXISTS kind;
