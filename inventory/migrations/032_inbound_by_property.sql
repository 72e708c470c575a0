-- inbound_messages was the one table growing with traffic that was keyed
-- by its id alone, as it also kept the messages keyrack cannot attribute
-- to a property (a sender that could not authenticate): it could not be
-- split by property (PostgreSQL's partitioning and Citus both want the
-- property in the primary key, and no property NULL). Those messages get a
-- table of their own, and inbound_messages is keyed by (property_id, id)
-- like every other growing table.
CREATE TABLE inbound_unattributed (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel_code text NOT NULL,          -- as addressed
    received_at  timestamptz NOT NULL DEFAULT now(),
    direction    text NOT NULL CHECK (direction IN ('push', 'pull')),
    remote       text NOT NULL DEFAULT '',
    message      text NOT NULL DEFAULT '',
    echo_token   text NOT NULL DEFAULT '',
    records      integer NOT NULL DEFAULT 0,
    outcome      text NOT NULL CHECK (outcome IN ('ok', 'partial', 'failed', 'unauthenticated')),
    http_status  integer NOT NULL DEFAULT 200,
    detail       text NOT NULL DEFAULT '',
    raw          text NOT NULL,
    reply        text NOT NULL DEFAULT ''
);
ALTER TABLE inbound_unattributed
    ALTER COLUMN raw SET STATISTICS 0,
    ALTER COLUMN reply SET STATISTICS 0,
    ALTER COLUMN detail SET STATISTICS 0;
-- For counting the recent unauthenticated ones (RecordInbound's bounds).
CREATE INDEX inbound_unattributed_unauthenticated ON inbound_unattributed (received_at) WHERE outcome = 'unauthenticated';

INSERT INTO inbound_unattributed (channel_code, received_at, direction, remote, message, echo_token, records,
        outcome, http_status, detail, raw, reply)
    SELECT channel_code, received_at, direction, remote, message, echo_token, records,
        outcome, http_status, detail, raw, reply
    FROM inbound_messages WHERE property_id IS NULL ORDER BY id;
DELETE FROM inbound_messages WHERE property_id IS NULL;
DROP INDEX inbound_messages_unauthenticated;
ALTER TABLE inbound_messages
    ALTER COLUMN property_id SET NOT NULL,
    DROP CONSTRAINT inbound_messages_pkey,
    ADD PRIMARY KEY (property_id, id);

---- create above / drop below ----

ALTER TABLE inbound_messages
    DROP CONSTRAINT inbound_messages_pkey,
    ADD PRIMARY KEY (id),
    ALTER COLUMN property_id DROP NOT NULL;
CREATE INDEX inbound_messages_unauthenticated ON inbound_messages (received_at) WHERE outcome = 'unauthenticated';
INSERT INTO inbound_messages (channel_code, received_at, direction, remote, message, echo_token, records,
        outcome, http_status, detail, raw, reply)
    SELECT channel_code, received_at, direction, remote, message, echo_token, records,
        outcome, http_status, detail, raw, reply
    FROM inbound_unattributed ORDER BY id;
DROP TABLE inbound_unattributed;
