-- vibed schema, version 1: releases, events, the token bucket.

CREATE TABLE IF NOT EXISTS releases (
    id            bigserial PRIMARY KEY,
    source        text        NOT NULL,
    external_id   text        NOT NULL,
    kind          text        NOT NULL CHECK (kind IN ('album', 'song')),
    title         text        NOT NULL,
    artists       jsonb       NOT NULL DEFAULT '[]',   -- [{"id": ..., "name": ...}], primary first
    artist_names  text        NOT NULL DEFAULT '',     -- "A, B" for search and display
    album         text,
    language      text,                                -- our code ("ml"); NULL when the source has none
    release_date  date,
    year          integer,
    image         text,
    url           text,
    play_count    bigint,
    explicit      boolean,
    raw           jsonb       NOT NULL DEFAULT '{}',
    first_seen    timestamptz NOT NULL DEFAULT now(),
    last_seen     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT releases_source_external_id UNIQUE (source, external_id)
);

-- the listing order: newest release date first, then first seen, then id (keyset pagination)
CREATE INDEX IF NOT EXISTS releases_newest
    ON releases ((coalesce(release_date, '0001-01-01'::date)) DESC, first_seen DESC, id DESC);
CREATE INDEX IF NOT EXISTS releases_language_newest
    ON releases (language, (coalesce(release_date, '0001-01-01'::date)) DESC, first_seen DESC, id DESC);

CREATE TABLE IF NOT EXISTS events (
    id          bigserial PRIMARY KEY,               -- the SSE event id
    kind        text        NOT NULL,                -- 'new_release'
    release_id  bigint      REFERENCES releases (id),
    payload     jsonb       NOT NULL,                -- the API representation at the time
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS events_kind_id ON events (kind, id);

-- the guide's token bucket: one row per upstream service, taken by one atomic statement
CREATE TABLE IF NOT EXISTS rate_limit_tokens (
    service_name     text             NOT NULL UNIQUE,
    tokens           double precision NOT NULL CHECK (tokens >= 0),
    max_tokens       double precision NOT NULL CHECK (max_tokens >= 0),
    refill_rate      double precision NOT NULL CHECK (refill_rate >= 0),  -- tokens per refill_interval
    refill_interval  interval         NOT NULL CHECK (refill_interval > interval '0'),
    last_refill      timestamptz      NOT NULL DEFAULT now()
);

INSERT INTO rate_limit_tokens (service_name, tokens, max_tokens, refill_rate, refill_interval)
VALUES ('jiosaavn', 1000, 1000, 1000, '1 day'),
       ('spotify',  1000, 1000, 1000, '1 day')
ON CONFLICT (service_name) DO NOTHING;

-- per (source, scope) fetch state, so health and back-off survive restarts and are shared
CREATE TABLE IF NOT EXISTS fetch_state (
    source                text        NOT NULL,
    scope                 text        NOT NULL,
    last_success          timestamptz,
    last_failure          timestamptz,
    last_error            text,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    backoff_until         timestamptz,
    PRIMARY KEY (source, scope)
);
