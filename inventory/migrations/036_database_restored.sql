-- keyrack's database restored from a backup: the bookings, cancellations
-- and changes the channels sent after the backup are not in it — an OTA
-- does not send again a booking keyrack answered, a pulled queue was
-- acknowledged — and the rooms those bookings took are offered again.
-- keyrack cannot find them; staff can, at each channel's extranet and in
-- the PMS. `keyrack restored` raises this incident on every property,
-- saying from when bookings may be missing; it stays until staff resolve
-- it. One open per property: running the command again updates it.
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export', 'stale_pull', 'pull_refused', 'database_restored'));
CREATE UNIQUE INDEX incidents_open_database_restored ON incidents (property_id)
    WHERE kind = 'database_restored' AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_database_restored;
DELETE FROM incidents WHERE kind = 'database_restored';
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export', 'stale_pull', 'pull_refused'));
