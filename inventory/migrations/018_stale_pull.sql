-- A pull-mode channel keyrack has not been able to poll for too long: its
-- bookings are not reaching keyrack, and the other channels go on selling
-- the rooms it sold. Its error shows on the channels page; the incident puts
-- it on the alerts page and in /metrics. One open incident per channel.
ALTER TABLE sync_channels ADD COLUMN pull_failing_since timestamptz; -- the first failed poll since the last good one
ALTER TABLE incidents ADD COLUMN channel_id bigint;
ALTER TABLE incidents ADD FOREIGN KEY (property_id, channel_id)
    REFERENCES channels (property_id, id) ON DELETE CASCADE;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export', 'stale_pull'));
ALTER TABLE incidents ADD CONSTRAINT incidents_channel_check
    CHECK (kind <> 'stale_pull' OR channel_id IS NOT NULL);
CREATE UNIQUE INDEX incidents_open_stale_pull ON incidents (property_id, channel_id)
    WHERE kind = 'stale_pull' AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_stale_pull;
DELETE FROM incidents WHERE kind = 'stale_pull';
ALTER TABLE incidents DROP CONSTRAINT incidents_channel_check;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export'));
ALTER TABLE incidents DROP COLUMN channel_id;
ALTER TABLE sync_channels DROP COLUMN pull_failing_since;
