-- A pull-mode channel's second queue: Booking.com serves new bookings at
-- OTA_HotelResNotif and modifications and cancellations at
-- OTA_HotelResModifyNotif, each acknowledged at its own URL. With one pull
-- URL keyrack never saw a moved stay or a cancellation from such a channel.
ALTER TABLE channels ADD COLUMN pull_modify_url text NOT NULL DEFAULT '';

---- create above / drop below ----

ALTER TABLE channels DROP COLUMN pull_modify_url;
