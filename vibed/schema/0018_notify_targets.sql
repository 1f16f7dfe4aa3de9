-- vibed schema, version 18: notification targets (Apprise URLs) and their outbox (issue 21).
--
-- A target is an Apprise URL (ntfy://, tgram://, discord://, mailto://, json://, …) with the one release
-- filter (or a watch, whose filter it follows as the watch changes), a digest mode, quiet hours and a time zone.  The URL holds credentials: only the sender reads
-- ``url``; every answer and log shows ``shown_url`` (masked when the target is made).
--
-- The writer inserts one notify_outbox row per (new event, matching target) in the same transaction as
-- the event, as for webhooks.  A message covers every due row of its target at once (one release, a
-- folded burst, a digest, or what quiet hours held): the rows are leased together by moving
-- next_attempt_at ahead, and marked delivered together with the message's id.  When a row is due is
-- decided from its created_at, the target's settings and the flood window below (vibed/targets/schedule.py):
-- so a digest or what quiet hours hold is state in this table, not a timer in memory.

CREATE TABLE IF NOT EXISTS notify_targets (
    id                    bigserial   PRIMARY KEY,
    owner                 text        NOT NULL,                 -- 'jwt:<sub>' or 'local', as webhooks.owner
    url                   text        NOT NULL,                 -- the Apprise URL, with its credentials
    shown_url             text        NOT NULL,                 -- the same URL, masked: all anyone sees
    service               text        NOT NULL,                 -- Apprise's name for it ("ntfy", "json", …)
    languages             text[],                               -- the ReleaseFilter: NULL = no restriction
    sources               text[],
    kinds                 text[],
    artists               bigint[],
    watch_id              text        REFERENCES watches (id) ON DELETE CASCADE,  -- follows a watch instead
    digest                text        NOT NULL DEFAULT 'off' CHECK (digest IN ('off', 'hourly', 'daily')),
    quiet_start           integer     CHECK (quiet_start BETWEEN 0 AND 86399),  -- seconds after local midnight
    quiet_end             integer     CHECK (quiet_end BETWEEN 0 AND 86399),
    tz                    text        NOT NULL DEFAULT 'UTC',   -- an IANA zone name
    created_at            timestamptz NOT NULL DEFAULT now(),
    window_start          timestamptz,                          -- flood guard: the minute messages are counted in
    window_sends          integer     NOT NULL DEFAULT 0,       -- … and how many went in it
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    paused_at             timestamptz,
    paused_reason         text,
    CHECK ((quiet_start IS NULL) = (quiet_end IS NULL))
);
CREATE INDEX IF NOT EXISTS notify_targets_by_owner ON notify_targets (owner, id);

CREATE TABLE IF NOT EXISTS notify_outbox (
    id               bigserial   PRIMARY KEY,
    target_id        bigint      NOT NULL REFERENCES notify_targets (id) ON DELETE CASCADE,
    event_id         bigint      NOT NULL REFERENCES events (id),
    state            text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'dead')),
    attempts         integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    last_attempt_at  timestamptz,
    last_error       text,
    message_id       bigint,                                    -- the message that carried it (its first row's id)
    delivered_at     timestamptz,
    created_at       timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT notify_outbox_once UNIQUE (target_id, event_id)
);
CREATE INDEX IF NOT EXISTS notify_outbox_pending ON notify_outbox (target_id, id) WHERE state = 'pending';
CREATE INDEX IF NOT EXISTS notify_outbox_dead ON notify_outbox (target_id) WHERE state = 'dead';
