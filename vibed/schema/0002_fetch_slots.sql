-- the scheduled slot a (source, scope) run was last claimed for (see vibed/store/fetch_state.py)
ALTER TABLE fetch_state ADD COLUMN IF NOT EXISTS last_slot text;
