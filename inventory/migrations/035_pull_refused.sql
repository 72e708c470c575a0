-- Reservations a pull-mode channel serves that keyrack does not take (a
-- hotel code the channel's account does not serve, a Target="Test"
-- message, dates or rooms that cannot be read): not acknowledged, so the
-- channel serves them again at each poll, while the guests' bookings are
-- confirmed at the OTA and not in keyrack's pool — the other channels go on
-- selling their rooms. The poll's error shows on the channel's page; the
-- incident puts them on the alerts page and in /metrics. One open incident
-- per channel, naming the records its last poll refused.
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export', 'stale_pull', 'pull_refused'));
ALTER TABLE incidents DROP CONSTRAINT incidents_channel_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_channel_check
    CHECK (kind NOT IN ('stale_pull', 'pull_refused') OR channel_id IS NOT NULL);
CREATE UNIQUE INDEX incidents_open_pull_refused ON incidents (property_id, channel_id)
    WHERE kind = 'pull_refused' AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_pull_refused;
DELETE FROM incidents WHERE kind = 'pull_refused';
ALTER TABLE incidents DROP CONSTRAINT incidents_channel_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_channel_check
    CHECK (kind <> 'stale_pull' OR channel_id IS NOT NULL);
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed', 'stale_export', 'stale_pull'));
