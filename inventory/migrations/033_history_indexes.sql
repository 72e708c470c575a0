-- Indexes for the staff pages of a hotel with years of history, which read
-- a few rows of tables that grow for as long as the hotel runs: without
-- them PostgreSQL reads the property's whole table for each view. (Built
-- on upgrade like every index here: writes to the table wait meanwhile,
-- seconds for millions of rows.)

-- A booking's page: its audit trail, by subject ("reservation 42").
CREATE INDEX audit_log_subject ON audit_log (property_id, subject, id);
-- …and its incidents, resolved ones too: by reservation, by the PMS feed
-- entry they are about, and the overbookings (few) naming it.
CREATE INDEX incidents_reservation ON incidents (property_id, reservation_id) WHERE reservation_id IS NOT NULL;
CREATE INDEX incidents_feed_entry ON incidents (property_id, feed_entry_id) WHERE feed_entry_id IS NOT NULL;
CREATE INDEX incidents_overbooking ON incidents (property_id, id) WHERE kind = 'overbooking';
-- The channels page: when a webhook last reached each PMS, among its latest
-- entries (feed_entries_unacked holds only those not yet acknowledged).
CREATE INDEX feed_entries_channel ON feed_entries (property_id, channel_id, id);
-- The bookings list: the latest changed first, a page at a time.
CREATE INDEX reservations_updated ON reservations (property_id, updated_at DESC, id DESC);

---- create above / drop below ----

DROP INDEX reservations_updated;
DROP INDEX feed_entries_channel;
DROP INDEX incidents_overbooking;
DROP INDEX incidents_feed_entry;
DROP INDEX incidents_reservation;
DROP INDEX audit_log_subject;
