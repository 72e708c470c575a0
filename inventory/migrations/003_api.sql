-- The management and PMS API's own state: API keys and the responses kept
-- for Idempotency-Key replays.
--
-- API keys are high-entropy random strings shown once; only their SHA-256
-- is kept (a fast hash is enough for 256 random bits). The prefix is the
-- first characters of the key, kept in clear so people can tell keys apart
-- and revoke one by it.

CREATE TABLE api_keys (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL: the key acts on every property (and may create properties).
    property_id   bigint REFERENCES properties (id),
    name          text NOT NULL CHECK (name <> '' AND length(name) <= 100),
    prefix        text NOT NULL UNIQUE CHECK (prefix ~ '^kr_[a-z0-9]{8}$'),
    key_hash      bytea NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    created_by    text NOT NULL,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);
CREATE INDEX api_keys_property ON api_keys (property_id);

-- One row per Idempotency-Key of an API key on a property: inserted before
-- the request runs (so a concurrent request with the same key finds it and
-- does not run), completed with the response afterwards. Rows older than a
-- day may be deleted; the key can be used again then.
CREATE TABLE idempotency_keys (
    property_id    bigint NOT NULL REFERENCES properties (id),
    api_key_id     bigint NOT NULL REFERENCES api_keys (id),
    idem_key       text NOT NULL CHECK (idem_key <> '' AND length(idem_key) <= 255),
    method         text NOT NULL,
    path           text NOT NULL,
    body_hash      bytea NOT NULL,
    -- NULL while the first request with the key is still running.
    status         integer,
    content_type   text,
    response       bytea,
    created_at     timestamptz NOT NULL DEFAULT now(),
    completed_at   timestamptz,
    PRIMARY KEY (property_id, api_key_id, idem_key),
    CHECK ((status IS NULL) = (completed_at IS NULL))
);
CREATE INDEX idempotency_keys_created ON idempotency_keys (property_id, created_at);

-- iCal channels. A feed is a calendar of the platform's that keyrack polls
-- for one room type's bookings; its URL usually carries the platform's
-- secret token, so it is sealed like outbound credentials (only the host is
-- kept in clear, for people). An export token is what a platform puts in
-- the URL of keyrack's own calendar of a room type: random, shown once,
-- kept as a SHA-256, revocable.
CREATE TABLE ical_feeds (
    property_id   bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    channel_id    bigint NOT NULL,
    room_type_id  bigint NOT NULL,
    url_host      text NOT NULL,
    url_sealed    bytea NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, id),
    UNIQUE (property_id, channel_id, room_type_id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, room_type_id) REFERENCES room_types (property_id, id)
);

CREATE TABLE ical_export_tokens (
    property_id   bigint NOT NULL,
    id            bigint GENERATED ALWAYS AS IDENTITY,
    channel_id    bigint NOT NULL,
    room_type_id  bigint NOT NULL,
    prefix        text NOT NULL,
    token_hash    bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    last_used_at  timestamptz,
    PRIMARY KEY (property_id, id),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE,
    FOREIGN KEY (property_id, room_type_id) REFERENCES room_types (property_id, id)
);

---- create above / drop below ----

DROP TABLE ical_export_tokens, ical_feeds, idempotency_keys, api_keys;
