-- Which nights staff gave units or an overbooking factor of their own (a
-- range edit: rooms out of order, a night's own factor). A change of the
-- pool's units or factor reaches every other night from today on — booked
-- ones too: a night's row is made when it is first booked, with the pool's
-- values of that day, and before this those rows kept them for good, so a
-- pool cut from 10 rooms to 6 went on selling 10 on its busy nights.
ALTER TABLE nights ADD COLUMN units_set boolean NOT NULL DEFAULT false;
ALTER TABLE nights ADD COLUMN factor_set boolean NOT NULL DEFAULT false;
-- Which existing nights staff edited is not recorded; those that differ from
-- their pool now keep their values, as they did.
UPDATE nights n SET units_set = n.units <> p.units, factor_set = n.overbooking_factor <> p.overbooking_factor
FROM pools p WHERE p.property_id = n.property_id AND p.id = n.pool_id
    AND (n.units <> p.units OR n.overbooking_factor <> p.overbooking_factor);

---- create above / drop below ----

ALTER TABLE nights DROP COLUMN factor_set;
ALTER TABLE nights DROP COLUMN units_set;
