-- When a channel was last enabled (made, or enabled again). A PMS is sent
-- what reached its feed while it was disabled once it is enabled again, so
-- the alarm for revisions it has not acknowledged counts from then — from
-- the revision's arrival, it raised one incident per revision the moment a
-- PMS disabled for a while came back.
ALTER TABLE channels ADD COLUMN enabled_at timestamptz NOT NULL DEFAULT now();

---- create above / drop below ----

ALTER TABLE channels DROP COLUMN enabled_at;
