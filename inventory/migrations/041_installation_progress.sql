-- A database restored from a backup, or a replica promoted before it had
-- received everything, is keyrack's database gone back in time: keyrack
-- started on it as it is would issue again ids outside systems keep and
-- say nothing of the bookings lost. The installation's row has an id of
-- its own, made once, and a progress count that every keyrack process
-- moves on in a committed transaction; processes keep the highest count
-- they saw in Redis, outside the database, keyed by the installation's id.
-- A count below that is a database that went back (sync.ProgressWatch).
-- A new database is a new installation, so one made afresh is never taken
-- for a restored one.
CREATE TABLE installation (
    only_one  boolean PRIMARY KEY DEFAULT true CHECK (only_one),
    id        text NOT NULL DEFAULT gen_random_uuid()::text,
    progress  bigint NOT NULL DEFAULT 0
);
INSERT INTO installation DEFAULT VALUES;

---- create above / drop below ----

DROP TABLE installation;
