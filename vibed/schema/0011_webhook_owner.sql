-- vibed schema, version 11: every webhook subscription belongs to whoever made it.
--
-- owner is 'jwt:<sub>' for a subscription made with a control token (its subject), or 'local'
-- for one made under loopback authority (no JWT_SECRET).  A subscription is listed, read,
-- redelivered and deleted only by its owner.  Rows made before this version are 'local': they
-- were made when every caller saw every row; an operator who now uses tokens hands them to a
-- subject with  UPDATE webhooks SET owner = 'jwt:<sub>' WHERE owner = 'local'.

ALTER TABLE webhooks ADD COLUMN IF NOT EXISTS owner text NOT NULL DEFAULT 'local';
ALTER TABLE webhooks ALTER COLUMN owner DROP DEFAULT;
CREATE INDEX IF NOT EXISTS webhooks_by_owner ON webhooks (owner, id);
