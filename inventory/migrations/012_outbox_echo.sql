-- Whether a channel's own change can be an echo for it: the pool's value
-- moved on every night of the range as the channel's own count did (it
-- took d units, and the pool offers d fewer). Not on a night past its limit
-- or closed: there the pool offers 0 whatever happens to the units past
-- the limit, so a cancellation gives the channel a room back and the pool
-- none, and the channel must be sent the pool's value. The relay marks the
-- origin's nights as echoes only where this holds.
ALTER TABLE outbox ADD COLUMN echo boolean NOT NULL DEFAULT true;

---- create above / drop below ----

ALTER TABLE outbox DROP COLUMN echo;
