-- vibed schema, version 17: Web Push subscriptions, the daemon's VAPID key, and the push outbox.
--
-- A browser hands in a push endpoint and its keys (RFC 8291: p256dh, auth) with the one release
-- filter; the writer inserts one push_outbox row per (new event, matching subscription) in the same
-- transaction as the event, exactly as for webhooks (0009): a subscription's deliveries go out in id
-- order, one at a time; a row being sent is leased by moving next_attempt_at ahead, so a daemon that
-- dies mid-send leaves it due again.  A push service that answers 404 or 410 ends the subscription
-- (ON DELETE CASCADE takes its rows).

-- one row: the deployment's VAPID key pair (RFC 8292), made by the first daemon that starts
CREATE TABLE IF NOT EXISTS push_vapid (
    id          smallint    PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    private_key bytea       NOT NULL,                        -- the P-256 private scalar, 32 bytes
    public_key  bytea       NOT NULL,                        -- the uncompressed point, 65 bytes
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS push_subscriptions (
    id          bigserial   PRIMARY KEY,
    endpoint    text        NOT NULL UNIQUE,                 -- the push service's URL for this browser
    p256dh      bytea       NOT NULL,                        -- the browser's P-256 public key (65 bytes)
    auth        bytea       NOT NULL,                        -- its 16-byte authentication secret
    languages   text[],                                      -- the one release filter (NULL = any)
    sources     text[],
    kinds       text[],
    artists     bigint[],
    watch_id    text REFERENCES watches (id) ON DELETE CASCADE,  -- follows this watch (0015) instead of
                                                             -- its own filter columns; gone with it
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS push_outbox (
    id               bigserial   PRIMARY KEY,                -- the Topic-free identity of one delivery
    subscription_id  bigint      NOT NULL REFERENCES push_subscriptions (id) ON DELETE CASCADE,
    event_id         bigint      NOT NULL REFERENCES events (id),
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status      integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT push_outbox_once UNIQUE (subscription_id, event_id)
);

-- each subscription's head of line: its oldest pending delivery
CREATE INDEX IF NOT EXISTS push_outbox_pending ON push_outbox (subscription_id, id) WHERE state = 'pending';
-- the claim's walk: pending rows in id order (the heads of every line come first, in event order)
CREATE INDEX IF NOT EXISTS push_outbox_pending_by_id ON push_outbox (id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS push_outbox_dead ON push_outbox (subscription_id) WHERE state = 'dead';
