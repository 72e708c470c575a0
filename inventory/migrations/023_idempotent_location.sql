-- A replayed response says where the first one's resource is: a PMS that
-- sends a creation again with its Idempotency-Key (its connection dropped
-- before the answer) follows Location to the reservation it made.
ALTER TABLE idempotency_keys ADD COLUMN location text;

---- create above / drop below ----

ALTER TABLE idempotency_keys DROP COLUMN location;
