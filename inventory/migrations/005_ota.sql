-- OTA XML and GDS channels: how each one authenticates and what it takes,
-- where a pull-mode channel keeps its pending reservations, and every raw
-- inbound message with what became of it.

-- How the channel proves who it is when it sends us a message: HTTP Basic,
-- a WS-Security UsernameToken, or POS/Source/RequestorID with its
-- MessagePassword. '' is the kind's default (basic for OTA channels, wsse for GDS).
ALTER TABLE channels ADD COLUMN inbound_auth text NOT NULL DEFAULT ''
    CHECK (inbound_auth IN ('', 'basic', 'wsse', 'message_password'));
-- The envelope of what we send: raw XML, SOAP 1.1 or SOAP 1.2 ('' is the
-- kind's default: raw for OTA channels, soap12 for GDS).
ALTER TABLE channels ADD COLUMN envelope text NOT NULL DEFAULT ''
    CHECK (envelope IN ('', 'raw', 'soap11', 'soap12'));
-- The availability message the channel takes: OTA_HotelAvailNotifRQ
-- ('avail', the default) or OTA_HotelInvCountNotifRQ ('invcount').
ALTER TABLE channels ADD COLUMN ari_message text NOT NULL DEFAULT ''
    CHECK (ari_message IN ('', 'avail', 'invcount'));
-- Pull mode: where keyrack fetches pending reservations (GET) and
-- acknowledges the ones it committed (POST), and how often.
ALTER TABLE channels ADD COLUMN pull_url text NOT NULL DEFAULT '';
ALTER TABLE channels ADD COLUMN pull_interval_s integer NOT NULL DEFAULT 60
    CHECK (pull_interval_s BETWEEN 5 AND 86400);

-- The state of a pull-mode channel's polling (package sync writes it).
ALTER TABLE sync_channels ADD COLUMN pulled_at timestamptz;     -- last attempt
ALTER TABLE sync_channels ADD COLUMN pull_ok_at timestamptz;    -- last good fetch
ALTER TABLE sync_channels ADD COLUMN pull_error text;
ALTER TABLE sync_channels ADD COLUMN pull_error_at timestamptz;

-- Every raw message a channel sent us (pushed to /ota/{channel} or fetched
-- in pull mode), card data masked, with its outcome and our reply. A
-- message whose sender could not be authenticated, or whose property could
-- not be told, has no property: that is why this table, unlike the others,
-- is keyed by its id alone.
CREATE TABLE inbound_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    property_id  bigint REFERENCES properties (id),
    channel_id   bigint,
    channel_code text NOT NULL,          -- as addressed, even when unknown
    received_at  timestamptz NOT NULL DEFAULT now(),
    direction    text NOT NULL CHECK (direction IN ('push', 'pull')),
    remote       text NOT NULL DEFAULT '',
    message      text NOT NULL DEFAULT '',   -- the OTA element's name
    echo_token   text NOT NULL DEFAULT '',
    records      integer NOT NULL DEFAULT 0,
    -- ok: every record applied; partial: some were not; failed: none was,
    -- or the message could not be read; unauthenticated.
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'partial', 'failed', 'unauthenticated')),
    http_status  integer NOT NULL DEFAULT 200,
    detail       text NOT NULL DEFAULT '',   -- the errors and warnings, for staff
    raw          text NOT NULL,              -- card numbers and CVV masked; capped
    reply        text NOT NULL DEFAULT '',
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE
);
CREATE INDEX inbound_messages_channel ON inbound_messages (property_id, channel_id, received_at DESC);

---- create above / drop below ----

DROP TABLE inbound_messages;
ALTER TABLE sync_channels DROP COLUMN pulled_at, DROP COLUMN pull_ok_at, DROP COLUMN pull_error, DROP COLUMN pull_error_at;
ALTER TABLE channels DROP COLUMN inbound_auth, DROP COLUMN envelope, DROP COLUMN ari_message,
    DROP COLUMN pull_url, DROP COLUMN pull_interval_s;
