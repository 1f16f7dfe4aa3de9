-- vibed schema, version 15: watches — a saved release filter that needs no account (issue 20).
--
--   watches          id (unguessable, a capability: whoever has it may read the watch's releases),
--                    the sha256 of its token (whoever has the token may read, change or delete it),
--                    a name, and the filter's closed parts (NULL = no restriction, as on webhooks)
--   watch_artists    the artists a watch follows
--   watch_pending    names a watch follows that matched no artist when given: kept by their key
--                    (vibed_artist_key) and matched when that artist first appears
--   webhooks.watch_id  a webhook subscription may follow a watch instead of its own filter columns
--
-- A pending name is matched by a trigger on the artist's insert, so the writer's transaction that indexes
-- the release introducing the artist (vibed_index_artists) also files it under every watch waiting for it,
-- and that release's own webhook deliveries already see it.  Readers also join pending keys to artists
-- (vibed/store/watches.py), so a watch created while the artist's first release commits is never stuck.

CREATE TABLE IF NOT EXISTS watches (
    id          text        PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{22}$'),   -- 128 random bits, base64url
    token_hash  bytea       NOT NULL CHECK (octet_length(token_hash) = 32),   -- sha256 of the token
    name        text        NOT NULL,
    languages   text[],
    sources     text[],
    kinds       text[],
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS watch_artists (
    watch_id   text   NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    artist_id  bigint NOT NULL REFERENCES artists (id) ON DELETE CASCADE,
    PRIMARY KEY (watch_id, artist_id)
);
CREATE INDEX IF NOT EXISTS watch_artists_by_artist ON watch_artists (artist_id);

CREATE TABLE IF NOT EXISTS watch_pending (
    watch_id  text NOT NULL REFERENCES watches (id) ON DELETE CASCADE,
    key       text NOT NULL CHECK (key <> ''),   -- vibed_artist_key(name)
    name      text NOT NULL,                     -- as given, for the watch's owner to read back
    PRIMARY KEY (watch_id, key)
);
CREATE INDEX IF NOT EXISTS watch_pending_by_key ON watch_pending (key);

CREATE OR REPLACE FUNCTION vibed_match_pending() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO watch_artists (watch_id, artist_id)
    SELECT watch_id, NEW.id FROM watch_pending WHERE key = NEW.key
    ON CONFLICT DO NOTHING;
    DELETE FROM watch_pending WHERE key = NEW.key;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS artists_match_pending ON artists;
CREATE TRIGGER artists_match_pending AFTER INSERT ON artists
    FOR EACH ROW EXECUTE FUNCTION vibed_match_pending();

ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS watch_id text REFERENCES watches (id) ON DELETE CASCADE;

-- what a watch follows: its artists, and the artists its pending names now name (whatever the trigger saw)
CREATE OR REPLACE VIEW watch_follows AS
SELECT watch_id, artist_id FROM watch_artists
UNION
SELECT wp.watch_id, a.id FROM watch_pending wp JOIN artists a ON a.key = wp.key;
