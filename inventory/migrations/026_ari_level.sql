-- What an availability item of the channel names: its room code only
-- ('room', the default '') or each room and rate code pair mapped on it,
-- with RatePlanCode ('rate'): channels that keep availability per room and
-- rate (Weekendesk-style) may refuse an item without a rate plan;
-- SiteMinder and Booking.com keep availability per room.
ALTER TABLE channels ADD COLUMN ari_level text NOT NULL DEFAULT ''
    CHECK (ari_level IN ('', 'room', 'rate'));

---- create above / drop below ----

ALTER TABLE channels DROP COLUMN ari_level;
