-- When the latest fetch imported into a feed was made: an import of an
-- older fetch (two in flight at once) is left out. It was read from the
-- event list's newest last_seen_at, which an import that left no events
-- (the platform cancelled every stay) took away, letting an older
-- calendar back in until the next fetch.
ALTER TABLE ical_feeds ADD COLUMN imported_fetch_at timestamptz;
UPDATE ical_feeds f SET imported_fetch_at = (SELECT max(e.last_seen_at) FROM ical_events e
	WHERE e.property_id = f.property_id AND e.feed_id = f.id);

---- create above / drop below ----

ALTER TABLE ical_feeds DROP COLUMN imported_fetch_at;
