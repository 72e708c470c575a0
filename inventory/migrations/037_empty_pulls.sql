-- A poll of a pull-mode channel that finds a queue empty keeps its answer
-- in place of the previous empty answer of that queue (inventory's
-- RecordInbound): polled every minute, a channel otherwise added two empty
-- answers a minute to inbound_messages for as long as they are kept. This
-- index finds the previous one; it holds one row per channel and queue.
CREATE INDEX inbound_messages_empty_pull ON inbound_messages (property_id, channel_id, message)
    WHERE direction = 'pull' AND records = 0 AND outcome = 'ok';

---- create above / drop below ----

DROP INDEX inbound_messages_empty_pull;
