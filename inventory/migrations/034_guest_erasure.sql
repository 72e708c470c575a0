-- A guest's personal data erased (GDPR art. 17: on the guest's request,
-- Store.EraseGuestData, or once KEYRACK_GUEST_DATA_KEEP has passed since
-- the stay ended or the booking was cancelled): every stored copy of it
-- (the reservation's guest, each revision's guest and raw message, the
-- inbound messages naming it, the API answers kept for Idempotency-Keys,
-- an iCal event's summary) was replaced by a marker, at this time. NULL
-- while keyrack holds the guest's data. Set again to NULL when the channel
-- reinstates the booking for a stay not ended yet: the hotel needs its
-- guest again.
ALTER TABLE reservations ADD COLUMN guest_erased_at timestamptz;
-- The retention's work list: the reservations whose guest data keyrack
-- still holds, by the end of their stay. Erased ones leave it, so it holds
-- the bookings of the retention period, not every booking ever taken.
CREATE INDEX reservations_guest_held ON reservations (property_id, departure) WHERE guest_erased_at IS NULL;

---- create above / drop below ----

DROP INDEX reservations_guest_held;
ALTER TABLE reservations DROP COLUMN guest_erased_at;
