-- The staff admin UI: staff users with their role, login sessions, and the
-- log of deliveries to channels that staff read on a channel's page.

CREATE TABLE staff_users (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    role          text NOT NULL CHECK (role IN ('admin', 'viewer')),
    password_hash text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled_at   timestamptz
);

-- A session is known by the SHA-256 of its cookie value.
CREATE TABLE staff_sessions (
    token_hash   bytea PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      bigint NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_sessions_user ON staff_sessions (user_id);

-- One row per push to a channel: what was sent (the values, as JSON) and how
-- the channel answered. Old rows are pruned per channel.
CREATE TABLE delivery_log (
    property_id bigint NOT NULL,
    id          bigint GENERATED ALWAYS AS IDENTITY,
    channel_id  bigint NOT NULL,
    at          timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL DEFAULT 0,
    full_resync boolean NOT NULL DEFAULT false,
    items       integer NOT NULL,
    payload     jsonb NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('ok', 'rejected', 'failed')),
    status      integer,
    error       text,
    PRIMARY KEY (property_id, id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE
);
CREATE INDEX delivery_log_channel ON delivery_log (property_id, channel_id, id DESC);

---- create above / drop below ----

DROP TABLE delivery_log, staff_sessions, staff_users;
