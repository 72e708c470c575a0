-- The fan-out's own state (package sync writes it; inventory never does):
-- which pool-nights each channel has not been told about yet, what each
-- channel last acknowledged, and the bookkeeping of its deliveries.
--
-- Like 001, every table that grows with traffic has the property's id first
-- in its primary key and references other rows through (property_id, id).

-- Versions of dirty marks. A delivery clears a mark only if its version is
-- still the one it read (compare-and-clear); drawing versions from a sequence
-- means a mark that was cleared and set again never reuses an old version.
CREATE SEQUENCE sync_version;

-- One row per channel of a property that has ever had something to deliver.
CREATE TABLE sync_channels (
    property_id       bigint NOT NULL,
    channel_id        bigint NOT NULL,
    -- Generations number the delivery tasks of the pair and are part of
    -- their asynq task ids: enqueueing one generation twice is deduplicated,
    -- while a change after a delivery has started gets a new generation, so
    -- asynq's dedupe cannot swallow it (the lost wakeup in asynq-notes.md).
    gen               bigint NOT NULL DEFAULT 0,
    -- The task that waits to bring the channel up to date: its queue and
    -- generation, or NULL when none waits. A delivery clears them as it
    -- starts; a change finding them NULL enqueues a new task.
    queued            text CHECK (queued IN ('critical', 'bulk')),
    queued_gen        bigint,
    queued_at         timestamptz,
    -- The last task ran out of retries (or failed for good): nothing is
    -- retried automatically until the next change, a resync, or staff
    -- retrying the archived task.
    archived          boolean NOT NULL DEFAULT false,
    -- When the latest requests within the rate-limit window were sent, or
    -- answered once they were (channels.rate_limit of them at most; in any
    -- order: webhooks are answered out of order).
    rate_window       timestamptz[] NOT NULL DEFAULT '{}',
    -- The channel asked us to wait until then (HTTP 429 with Retry-After).
    paused_until      timestamptz,
    deliveries        bigint NOT NULL DEFAULT 0,
    failures          bigint NOT NULL DEFAULT 0,
    last_delivery_at  timestamptz,
    last_error        text,
    last_error_at     timestamptz,
    -- The property-local date of the last full resync (the nightly one runs once a day).
    resynced_on       date,
    PRIMARY KEY (property_id, channel_id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    CHECK ((queued IS NULL) = (queued_gen IS NULL) AND (queued IS NULL) = (queued_at IS NULL)),
    CHECK (queued_gen <= gen)
);

-- Pool-nights a channel has not been told about yet, merged into ranges.
CREATE TABLE sync_dirty (
    property_id  bigint NOT NULL,
    channel_id   bigint NOT NULL,
    pool_id      bigint NOT NULL,
    nights       datemultirange NOT NULL CHECK (NOT isempty(nights)),
    -- Nights to send even when the channel has acknowledged their value
    -- already: a full resync.
    force        datemultirange NOT NULL DEFAULT '{}',
    -- Nights dirty only because the channel changed them itself (it sold or
    -- cancelled there): they are not echoed back unless the channel's own
    -- count may be off (see sync_acks.origin_changed_at).
    echo         datemultirange NOT NULL DEFAULT '{}',
    version      bigint NOT NULL DEFAULT nextval('sync_version'),
    since        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, channel_id, pool_id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, pool_id) REFERENCES pools (property_id, id),
    CHECK (force <@ nights AND echo <@ nights AND isempty(force * echo))
);

-- What each channel last acknowledged, per pool and night: the value and the
-- night's version it was read at. A delivery records an acknowledgement only
-- if its version is not older than the stored one, so a slow delivery of an
-- older state never overwrites a newer one.
CREATE TABLE sync_acks (
    property_id  bigint NOT NULL,
    channel_id   bigint NOT NULL,
    pool_id      bigint NOT NULL,
    night        date NOT NULL,
    available    integer NOT NULL CHECK (available >= 0),
    version      bigint NOT NULL,
    acked_at     timestamptz NOT NULL DEFAULT now(),
    -- When the channel itself changed the night (a booking or cancellation
    -- it took) after acknowledging it: it no longer holds `available` but
    -- that minus what it sold. NULL while it holds what it acknowledged.
    origin_changed_at  timestamptz,
    PRIMARY KEY (property_id, channel_id, pool_id, night),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, pool_id) REFERENCES pools (property_id, id)
);

-- The relay's work list. outbox_pending also holds the reservation rows,
-- which wait for the PMS feed; this one holds only what the relay takes.
CREATE INDEX outbox_availability_pending ON outbox (property_id, id)
    WHERE done_at IS NULL AND topic = 'availability';

---- create above / drop below ----

DROP INDEX outbox_availability_pending;
DROP TABLE sync_acks, sync_dirty, sync_channels;
DROP SEQUENCE sync_version;
