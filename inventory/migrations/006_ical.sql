-- iCal import: how each feed is polled and how its last fetches went, and
-- the events seen in it, each tied to the booking it became.

ALTER TABLE ical_feeds ADD COLUMN poll_interval_s integer NOT NULL DEFAULT 900
    CHECK (poll_interval_s BETWEEN 60 AND 86400);
ALTER TABLE ical_feeds ADD COLUMN next_fetch_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE ical_feeds ADD COLUMN last_fetch_at timestamptz;   -- last attempt
ALTER TABLE ical_feeds ADD COLUMN last_ok_at timestamptz;      -- last good fetch (a valid calendar, or 304)
ALTER TABLE ical_feeds ADD COLUMN last_status integer;         -- HTTP status of the last attempt
ALTER TABLE ical_feeds ADD COLUMN last_error text;             -- why the last attempt failed; NULL when it did not
ALTER TABLE ical_feeds ADD COLUMN etag text NOT NULL DEFAULT '';
ALTER TABLE ical_feeds ADD COLUMN last_modified text NOT NULL DEFAULT '';
ALTER TABLE ical_feeds ADD COLUMN events integer NOT NULL DEFAULT 0;  -- events in the last good fetch

-- The events of each feed. A booking's external id is fixed when the event
-- is first seen; an event that comes back under a new UID (calendar
-- platforms renumber their blocks daily) keeps the booking it had.
CREATE TABLE ical_events (
    property_id   bigint NOT NULL,
    feed_id       bigint NOT NULL,
    uid           text NOT NULL,
    external_id   text NOT NULL,
    arrival       date NOT NULL,
    departure     date NOT NULL,
    summary       text NOT NULL DEFAULT '',
    first_seen_at timestamptz NOT NULL DEFAULT now(),
    last_seen_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, feed_id, uid),
    UNIQUE (property_id, feed_id, external_id),
    FOREIGN KEY (property_id, feed_id) REFERENCES ical_feeds (property_id, id) ON DELETE CASCADE,
    CHECK (departure > arrival)
);

-- A feed whose last good fetch is too old is stale: one open incident per feed.
ALTER TABLE incidents ADD COLUMN ical_feed_id bigint;
ALTER TABLE incidents ADD FOREIGN KEY (property_id, ical_feed_id) REFERENCES ical_feeds (property_id, id) ON DELETE CASCADE;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed', 'stale_feed'));
ALTER TABLE incidents ADD CONSTRAINT incidents_ical_feed_check
    CHECK (kind <> 'stale_feed' OR ical_feed_id IS NOT NULL);
CREATE UNIQUE INDEX incidents_open_stale_feed ON incidents (property_id, ical_feed_id)
    WHERE kind = 'stale_feed' AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_stale_feed;
DELETE FROM incidents WHERE kind = 'stale_feed';
ALTER TABLE incidents DROP CONSTRAINT incidents_ical_feed_check;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed'));
ALTER TABLE incidents DROP COLUMN ical_feed_id;
DROP TABLE ical_events;
ALTER TABLE ical_feeds DROP COLUMN poll_interval_s, DROP COLUMN next_fetch_at, DROP COLUMN last_fetch_at,
    DROP COLUMN last_ok_at, DROP COLUMN last_status, DROP COLUMN last_error, DROP COLUMN etag,
    DROP COLUMN last_modified, DROP COLUMN events;
