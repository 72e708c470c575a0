-- The iCal export's read of a channel's bookings that hold the nights it
-- serves (inventory.BlockedNights): by the channel's bookings departing
-- after the first of those nights. reservations_stay, by arrival, found
-- every booking arriving before the last of them — the hotel's whole
-- history — and the channel's own key every booking it ever made.
CREATE INDEX reservations_channel_departure ON reservations (property_id, channel_id, departure);

---- create above / drop below ----

DROP INDEX reservations_channel_departure;
