-- Messages from senders that could not authenticate are kept so that staff
-- and operators can see why a sender is refused, but only so many
-- (RecordInbound): anyone can send them. This index holds only those, for
-- counting the recent ones.
CREATE INDEX inbound_messages_unauthenticated ON inbound_messages (received_at) WHERE outcome = 'unauthenticated';

---- create above / drop below ----

DROP INDEX inbound_messages_unauthenticated;
