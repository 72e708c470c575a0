-- Items a channel is no longer sent: a room code (or, for a channel with
-- availability per room and rate, a room and rate pair) whose last mapping
-- was deleted. The channel goes on selling the last count it was told for
-- it unless told otherwise, so the next delivery to the channel sends it 0
-- (closed) for every night of its horizon, once, and drops the row. A row
-- whose item is mapped again by then is dropped unsent.
CREATE TABLE sync_closures (
    property_id  bigint NOT NULL,
    channel_id   bigint NOT NULL,
    channel_room text NOT NULL,
    channel_rate text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (property_id, channel_id, channel_room, channel_rate),
    FOREIGN KEY (property_id, channel_id) REFERENCES channels (property_id, id) ON DELETE CASCADE
);

---- create above / drop below ----

DROP TABLE sync_closures;
