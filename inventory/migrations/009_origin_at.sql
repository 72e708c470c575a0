-- When the channel a change came from may have made it, if earlier than
-- keyrack heard of it: a pull-mode channel's booking can be up to a poll
-- late, and a delivery that landed on the channel in between overwrote its
-- own count (the fan-out then sends it the pool's value rather than treat
-- the change as an echo).
ALTER TABLE outbox ADD COLUMN origin_at timestamptz;

---- create above / drop below ----

ALTER TABLE outbox DROP COLUMN origin_at;
