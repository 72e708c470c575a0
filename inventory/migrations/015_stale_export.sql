-- An export calendar no platform has fetched for too long: the platform has
-- stopped seeing keyrack's availability (its URL was rotated or revoked here
-- and not updated there, or the platform stopped polling). Nothing else
-- tells staff: a calendar platform sends keyrack no error, it just goes
-- quiet. One open incident per export token.
ALTER TABLE incidents ADD COLUMN ical_export_token_id bigint;
ALTER TABLE incidents ADD FOREIGN KEY (property_id, ical_export_token_id)
    REFERENCES ical_export_tokens (property_id, id) ON DELETE CASCADE;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export'));
ALTER TABLE incidents ADD CONSTRAINT incidents_ical_export_token_check
    CHECK (kind <> 'stale_export' OR ical_export_token_id IS NOT NULL);
CREATE UNIQUE INDEX incidents_open_stale_export ON incidents (property_id, ical_export_token_id)
    WHERE kind = 'stale_export' AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_stale_export;
DELETE FROM incidents WHERE kind = 'stale_export';
ALTER TABLE incidents DROP CONSTRAINT incidents_ical_export_token_check;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed'));
ALTER TABLE incidents DROP COLUMN ical_export_token_id;
