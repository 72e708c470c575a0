-- iCal export: what a token's calendar last served, so that a platform's
-- conditional GET gets 304 while nothing changed, and Last-Modified (and the
-- events' DTSTAMP) stay put until something does.

ALTER TABLE ical_export_tokens ADD COLUMN served_etag text NOT NULL DEFAULT '';
ALTER TABLE ical_export_tokens ADD COLUMN served_changed_at timestamptz NOT NULL DEFAULT now();

-- What the last good fetch of a feed skipped or guessed (events ignored as
-- zero-length or inverted, zones guessed), for staff.
ALTER TABLE ical_feeds ADD COLUMN last_warnings text[] NOT NULL DEFAULT '{}';

---- create above / drop below ----

ALTER TABLE ical_feeds DROP COLUMN last_warnings;
ALTER TABLE ical_export_tokens DROP COLUMN served_changed_at;
ALTER TABLE ical_export_tokens DROP COLUMN served_etag;
