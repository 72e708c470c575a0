-- A third availability message: OTA_HotelAvailNotifRQ with BookingLimit
-- only ('avail_limit'), for channels that take availability and
-- restrictions in separate requests (SiteMinder's pmsXchange requires it)
-- and whose restrictions keyrack must not overwrite: a closed or full
-- night goes as BookingLimit 0.
ALTER TABLE channels DROP CONSTRAINT channels_ari_message_check;
ALTER TABLE channels ADD CONSTRAINT channels_ari_message_check
    CHECK (ari_message IN ('', 'avail', 'avail_limit', 'invcount'));

---- create above / drop below ----

UPDATE channels SET ari_message = 'avail' WHERE ari_message = 'avail_limit';
ALTER TABLE channels DROP CONSTRAINT channels_ari_message_check;
ALTER TABLE channels ADD CONSTRAINT channels_ari_message_check
    CHECK (ari_message IN ('', 'avail', 'invcount'));
