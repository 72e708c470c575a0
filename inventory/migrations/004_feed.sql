-- Reservations out to the PMS: one feed entry per PMS channel and
-- reservation revision, which the PMS receives by signed webhook (when the
-- channel has an endpoint) and can pull from the feed until it acknowledges
-- it. Package sync writes these rows; inventory never does.
--
-- Like 001, the property's id comes first in every key, and other rows are
-- referenced through (property_id, id) pairs.

CREATE TABLE feed_entries (
    property_id     bigint NOT NULL,
    -- The feed id: stable, the same in every webhook attempt and on the
    -- pull feed, and what the PMS acknowledges.
    id              bigint GENERATED ALWAYS AS IDENTITY,
    channel_id      bigint NOT NULL,   -- the PMS channel it is for
    reservation_id  bigint NOT NULL,
    revision_seq    integer NOT NULL,
    -- The channel had an endpoint when the entry was made: it is also sent
    -- by webhook. Without one the channel is pull-only.
    webhook         boolean NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    -- When the webhook task was last (re-)enqueued; the sweeper checks that
    -- Redis still has it once this is StaleAfter old.
    queued_at       timestamptz,
    delivered_at    timestamptz,       -- the receiver answered 2xx
    failed_at       timestamptz,       -- the webhook ran out of retries or was refused for good
    acked_at        timestamptz,       -- the PMS acknowledged it (POST …/ack)
    attempts        integer NOT NULL DEFAULT 0,
    last_attempt_at timestamptz,
    last_error      text,
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, channel_id, reservation_id, revision_seq),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, reservation_id, revision_seq)
        REFERENCES reservation_revisions (property_id, reservation_id, seq),
    CHECK (webhook OR (delivered_at IS NULL AND failed_at IS NULL))
);
-- The pull feed: a channel's unacknowledged entries, oldest first.
CREATE INDEX feed_entries_unacked ON feed_entries (property_id, channel_id, id) WHERE acked_at IS NULL;
-- The alarm's and the sweeper's work lists.
CREATE INDEX feed_entries_unacked_age ON feed_entries (created_at) WHERE acked_at IS NULL;
CREATE INDEX feed_entries_undelivered ON feed_entries (queued_at)
    WHERE webhook AND delivered_at IS NULL AND failed_at IS NULL AND acked_at IS NULL;

-- The relay's work list for reservation rows (002 has the availability one).
CREATE INDEX outbox_reservation_pending ON outbox (property_id, id)
    WHERE done_at IS NULL AND topic = 'reservation';

-- Incidents about feed entries: a revision the PMS has not acknowledged in
-- time, and a webhook delivery that ran out of retries. One open incident
-- per feed entry and kind; both are resolved when the entry is acknowledged.
ALTER TABLE incidents ADD COLUMN feed_entry_id bigint;
ALTER TABLE incidents ADD FOREIGN KEY (property_id, feed_entry_id) REFERENCES feed_entries (property_id, id) ON DELETE CASCADE;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check
    CHECK (kind IN ('overbooking', 'unmapped_booking', 'unacked_revision', 'webhook_failed'));
ALTER TABLE incidents ADD CONSTRAINT incidents_feed_entry_check
    CHECK (kind NOT IN ('unacked_revision', 'webhook_failed') OR feed_entry_id IS NOT NULL);
CREATE UNIQUE INDEX incidents_open_feed ON incidents (property_id, feed_entry_id, kind)
    WHERE kind IN ('unacked_revision', 'webhook_failed') AND resolved_at IS NULL;

---- create above / drop below ----

DROP INDEX incidents_open_feed;
DELETE FROM incidents WHERE kind IN ('unacked_revision', 'webhook_failed');
ALTER TABLE incidents DROP CONSTRAINT incidents_feed_entry_check;
ALTER TABLE incidents DROP CONSTRAINT incidents_kind_check;
ALTER TABLE incidents ADD CONSTRAINT incidents_kind_check CHECK (kind IN ('overbooking', 'unmapped_booking'));
ALTER TABLE incidents DROP COLUMN feed_entry_id;
DROP INDEX outbox_reservation_pending;
DROP TABLE feed_entries;
