-- vibed schema, version 9: webhook subscriptions and their outbox.
--
-- The writer inserts one webhook_outbox row per (new event, matching subscription) in the same
-- transaction as the event, so a crash can neither lose nor invent a delivery.  Deliveries to
-- one target go out in id order, one at a time; a row being sent is leased by moving
-- next_attempt_at ahead, so a daemon that dies mid-send leaves it due again (at least once,
-- under the same webhook-id).

CREATE TABLE IF NOT EXISTS webhooks (
    id                    bigserial   PRIMARY KEY,
    url                   text        NOT NULL,
    languages             text[],                               -- NULL = every language
    source                text,                                 -- NULL = every source
    kind                  text,                                 -- NULL = albums and songs
    format                text        NOT NULL DEFAULT 'generic'
                                      CHECK (format IN ('generic', 'discord', 'slack')),
    secret                text        NOT NULL,                 -- whsec_<base64>, shown once at creation
    created_at            timestamptz NOT NULL DEFAULT now(),
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    paused_at             timestamptz,                          -- set when the target keeps failing
    paused_reason         text
);

CREATE TABLE IF NOT EXISTS webhook_outbox (
    id               bigserial   PRIMARY KEY,                   -- the webhook-id header is msg_<id>
    webhook_id       bigint      NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id         bigint      NOT NULL REFERENCES events (id),
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_status      integer,
    last_error       text,
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT webhook_outbox_once UNIQUE (webhook_id, event_id)
);

-- each target's head of line: its oldest pending delivery
CREATE INDEX IF NOT EXISTS webhook_outbox_pending ON webhook_outbox (webhook_id, id) WHERE state = 'pending';
-- dead letters, counted for health and per target without reading delivered history
CREATE INDEX IF NOT EXISTS webhook_outbox_dead ON webhook_outbox (webhook_id) WHERE state = 'dead';
-- a target's delivery log, newest first
CREATE INDEX IF NOT EXISTS webhook_outbox_by_target ON webhook_outbox (webhook_id, id DESC);
