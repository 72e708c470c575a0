-- A kept response that shows a secret once (an iCal export URL) is kept
-- sealed with KEYRACK_SECRET, as channel credentials are: the table would
-- otherwise hold, for a day, a live secret that is kept nowhere else but as
-- a hash.
ALTER TABLE idempotency_keys ADD COLUMN sealed boolean NOT NULL DEFAULT false;

---- create above / drop below ----

DELETE FROM idempotency_keys WHERE sealed;
ALTER TABLE idempotency_keys DROP COLUMN sealed;
