-- How long into the next morning a property's channels go on selling a
-- night: OTAs take same-day bookings for "tonight" after midnight (late
-- cut-offs up to the early morning), and until then keyrack keeps telling
-- every channel the night's availability. Minutes after midnight; 0 (the
-- default) ends a night's sale at midnight, as before.
ALTER TABLE properties ADD COLUMN night_sold_until_minutes smallint NOT NULL DEFAULT 0
    CHECK (night_sold_until_minutes BETWEEN 0 AND 720);

---- create above / drop below ----

ALTER TABLE properties DROP COLUMN night_sold_until_minutes;
