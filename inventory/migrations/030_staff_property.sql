-- A staff user may be limited to one property (keyrack user add --property):
-- they see and change that property only, as an API key made for one
-- property acts on it only. NULL is every property. Deleting the property
-- deletes its staff: widening their reach to every property instead would
-- hand a hotel's staff the others.
ALTER TABLE staff_users ADD COLUMN property_id bigint REFERENCES properties (id) ON DELETE CASCADE;

---- create above / drop below ----

-- A user limited to one property is removed, not widened to every property.
DELETE FROM staff_users WHERE property_id IS NOT NULL;
ALTER TABLE staff_users DROP COLUMN property_id;
