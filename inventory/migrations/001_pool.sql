-- keyrack's core schema: properties, their inventory pools and nights,
-- products, channels, reservations with every revision, audit, outbox and
-- incidents.
--
-- Every table that grows with traffic has the property's id first in its
-- primary key and indexes, and references other rows through
-- (property_id, id) pairs, so no row can point into another property and the
-- schema can be distributed by property later.

CREATE TABLE properties (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name        text NOT NULL CHECK (name <> ''),
    time_zone   text NOT NULL CHECK (time_zone <> ''),
    currency    char(3) NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pools (
    property_id         bigint NOT NULL REFERENCES properties (id),
    id                  bigint GENERATED ALWAYS AS IDENTITY,
    code                text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name                text NOT NULL,
    units               integer NOT NULL CHECK (units >= 0),
    overbooking_factor  numeric(3,2) NOT NULL DEFAULT 1.00 CHECK (overbooking_factor > 0),
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, code)
);

-- One row per pool and night that has been booked or edited; nights without a
-- row take the pool's units and factor.
CREATE TABLE nights (
    property_id         bigint NOT NULL,
    pool_id             bigint NOT NULL,
    night               date NOT NULL,
    units               integer NOT NULL CHECK (units >= 0),
    overbooking_factor  numeric(3,2) NOT NULL CHECK (overbooking_factor > 0),
    lim                 integer GENERATED ALWAYS AS (floor(units * overbooking_factor)::integer) STORED,
    -- Units taken by bookings admitted within the limit.
    sold                integer NOT NULL DEFAULT 0 CHECK (sold >= 0),
    -- Units taken past the limit by bookings a channel had already confirmed
    -- (must-accept), or left over the limit when staff lowered it.
    oversold            integer NOT NULL DEFAULT 0 CHECK (oversold >= 0),
    closed              boolean NOT NULL DEFAULT false,
    version             bigint NOT NULL DEFAULT 1,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, pool_id, night),
    FOREIGN KEY (property_id, pool_id) REFERENCES pools (property_id, id),
    -- Invariant 1: what keyrack admitted never exceeds the limit.
    CONSTRAINT nights_sold_within_limit CHECK (sold <= lim),
    -- A night can only be oversold once it is full.
    CONSTRAINT nights_oversold_only_when_full CHECK (oversold = 0 OR sold = lim)
);

CREATE TABLE room_types (
    property_id  bigint NOT NULL,
    id           bigint GENERATED ALWAYS AS IDENTITY,
    code         text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name         text NOT NULL,
    pool_id      bigint NOT NULL,
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, code),
    FOREIGN KEY (property_id, pool_id) REFERENCES pools (property_id, id)
);

CREATE TABLE rate_plans (
    property_id   bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name          text NOT NULL,
    room_type_id  bigint NOT NULL,
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, room_type_id, code),
    FOREIGN KEY (property_id, room_type_id) REFERENCES room_types (property_id, id)
);

CREATE TABLE channels (
    property_id   bigint NOT NULL REFERENCES properties (id),
    id            bigint GENERATED ALWAYS AS IDENTITY,
    code          text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
    name          text NOT NULL,
    kind          text NOT NULL CHECK (kind IN ('ota_push', 'ota_pull', 'gds', 'ical', 'pms')),
    enabled       boolean NOT NULL DEFAULT true,
    hotel_code    text NOT NULL DEFAULT '',
    endpoint      text NOT NULL DEFAULT '',
    rate_limit    integer NOT NULL DEFAULT 0 CHECK (rate_limit >= 0),
    horizon_days  integer NOT NULL DEFAULT 365 CHECK (horizon_days BETWEEN 1 AND 1100),
    -- What the channel presents to us: a user name and a hash of its secret
    -- (HMAC-SHA256 keyed by KEYRACK_SECRET), never the secret itself.
    inbound_username     text NOT NULL DEFAULT '',
    inbound_secret_hash  bytea,
    -- What we present to the channel, sealed with AES-GCM under KEYRACK_SECRET.
    outbound_username        text NOT NULL DEFAULT '',
    outbound_secret_sealed   bytea,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, code)
);

CREATE TABLE mappings (
    property_id   bigint NOT NULL,
    channel_id    bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    channel_room  text NOT NULL CHECK (channel_room <> ''),
    channel_rate  text NOT NULL DEFAULT '', -- '' matches any rate
    room_type_id  bigint NOT NULL,
    rate_plan_id  bigint,
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, channel_id, channel_room, channel_rate),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, room_type_id) REFERENCES room_types (property_id, id),
    FOREIGN KEY (property_id, rate_plan_id) REFERENCES rate_plans (property_id, id)
);

CREATE TABLE reservations (
    property_id   bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    channel_id    bigint NOT NULL,
    external_id   text NOT NULL CHECK (external_id <> ''),
    status        text NOT NULL CHECK (status IN ('pending', 'confirmed', 'cancelled')),
    parked        boolean NOT NULL DEFAULT false,
    arrival       date,
    departure     date,
    stays         jsonb NOT NULL DEFAULT '[]',
    guest         jsonb NOT NULL DEFAULT '{}',
    total         numeric(14,2),
    currency      char(3),
    -- The units this reservation holds now: [{"pool_id":…,"night":"…","units":…}].
    held          jsonb NOT NULL DEFAULT '[]',
    revisions     integer NOT NULL DEFAULT 0,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, channel_id, external_id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id),
    CHECK (arrival IS NULL OR departure > arrival)
);
CREATE INDEX reservations_stay ON reservations (property_id, arrival, departure);

CREATE TABLE reservation_revisions (
    property_id     bigint NOT NULL,
    reservation_id  bigint NOT NULL,
    seq             integer NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('new', 'modify', 'cancel')),
    content_hash    bytea NOT NULL,
    revision        jsonb NOT NULL,   -- the parsed revision
    raw             text,             -- the payload as received, card data masked
    content_type    text NOT NULL DEFAULT '',
    actor           text NOT NULL,
    outcome         jsonb NOT NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, reservation_id, seq),
    UNIQUE (property_id, reservation_id, content_hash),
    FOREIGN KEY (property_id, reservation_id) REFERENCES reservations (property_id, id)
);

CREATE TABLE audit_log (
    property_id  bigint NOT NULL REFERENCES properties (id),
    id           bigint GENERATED ALWAYS AS IDENTITY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor        text NOT NULL,     -- who: staff:anna, channel:bookingcom, system
    origin       text NOT NULL DEFAULT '', -- the channel code the change came from, if any
    action       text NOT NULL,     -- what: reservation.new, nights.set_units, …
    subject      text NOT NULL,     -- on what: reservation 42, pool DBL 2026-12-01..2026-12-05
    details      jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (property_id, id)
);
CREATE INDEX audit_log_at ON audit_log (property_id, at);

-- Changes waiting for the fan-out, written in the same transaction as the
-- change itself (PRODUCT.md invariant 4).
CREATE TABLE outbox (
    property_id        bigint NOT NULL REFERENCES properties (id),
    id                 bigint GENERATED ALWAYS AS IDENTITY,
    topic              text NOT NULL CHECK (topic IN ('availability', 'reservation')),
    pool_id            bigint,
    from_night         date,
    to_night           date,            -- exclusive
    reservation_id     bigint,
    revision_seq       integer,
    origin_channel_id  bigint,          -- not echoed back to this channel
    bulk               boolean NOT NULL DEFAULT false, -- staff edits and resyncs go behind bookings
    created_at         timestamptz NOT NULL DEFAULT now(),
    done_at            timestamptz,
    PRIMARY KEY (property_id, id),
    CHECK (topic <> 'availability' OR (pool_id IS NOT NULL AND to_night > from_night)),
    CHECK (topic <> 'reservation' OR reservation_id IS NOT NULL)
);
CREATE INDEX outbox_pending ON outbox (property_id, id) WHERE done_at IS NULL;

CREATE TABLE incidents (
    property_id     bigint NOT NULL REFERENCES properties (id),
    id              bigint GENERATED ALWAYS AS IDENTITY,
    kind            text NOT NULL CHECK (kind IN ('overbooking', 'unmapped_booking')),
    pool_id         bigint,
    night           date,
    reservation_id  bigint,
    -- For overbooking: the most units the night has been past its limit.
    excess          integer NOT NULL DEFAULT 0,
    message         text NOT NULL,
    details         jsonb NOT NULL DEFAULT '{}',
    opened_at       timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    resolved_by     text,
    PRIMARY KEY (property_id, id),
    CHECK (kind <> 'overbooking' OR (pool_id IS NOT NULL AND night IS NOT NULL)),
    FOREIGN KEY (property_id, pool_id) REFERENCES pools (property_id, id)
);
-- One open overbooking incident per pool and night.
CREATE UNIQUE INDEX incidents_open_overbooking ON incidents (property_id, pool_id, night)
    WHERE kind = 'overbooking' AND resolved_at IS NULL;
CREATE UNIQUE INDEX incidents_open_unmapped ON incidents (property_id, reservation_id)
    WHERE kind = 'unmapped_booking' AND resolved_at IS NULL;
CREATE INDEX incidents_open ON incidents (property_id, opened_at) WHERE resolved_at IS NULL;

---- create above / drop below ----

DROP TABLE incidents, outbox, audit_log, reservation_revisions, reservations, mappings,
    channels, rate_plans, room_types, nights, pools, properties;
