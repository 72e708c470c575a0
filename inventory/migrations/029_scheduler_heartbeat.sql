-- When a scheduler last led (sync/scheduler.go): the leader sets led_at at
-- each of its rounds, so a web process can tell "no scheduler has led for
-- minutes" (its periodic work — the nightly resync, the polls of pull-mode
-- channels, the checks that raise alerts — not done) from a failover, when
-- the lead's lock is free for seconds only. One row; it starts at the
-- migration, so an installation whose scheduler never ran is counted from
-- then (or from its first property, if later).
CREATE TABLE scheduler_lead (
    one    boolean PRIMARY KEY DEFAULT true CHECK (one),
    led_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO scheduler_lead DEFAULT VALUES;

---- create above / drop below ----

DROP TABLE scheduler_lead;
