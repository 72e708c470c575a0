-- A full resync's marks are kept apart from the marks of changes: a
-- booking-driven delivery sends only what changed and leaves the resync's
-- forced nights (a channel's whole horizon) to the bulk workers, so a
-- booking never waits behind a resync. Rows that held both become resync
-- rows (delivered by the bulk workers, forced nights and changes together).
ALTER TABLE sync_dirty ADD COLUMN resync boolean NOT NULL DEFAULT false;
UPDATE sync_dirty SET resync = true WHERE NOT isempty(force);
ALTER TABLE sync_dirty DROP CONSTRAINT sync_dirty_pkey;
ALTER TABLE sync_dirty ADD PRIMARY KEY (property_id, channel_id, pool_id, resync);
ALTER TABLE sync_dirty ADD CONSTRAINT sync_dirty_force_is_resync CHECK (resync OR isempty(force));

---- create above / drop below ----

-- One row per channel and pool again, the two merged.
CREATE TEMPORARY TABLE sync_dirty_merged ON COMMIT DROP AS
    SELECT property_id, channel_id, pool_id, range_agg(nights) AS nights, range_agg(force) AS force,
        range_agg(echo) - range_agg(force) AS echo, max(version) AS version, min(since) AS since
    FROM sync_dirty GROUP BY property_id, channel_id, pool_id;
DELETE FROM sync_dirty;
ALTER TABLE sync_dirty DROP CONSTRAINT sync_dirty_force_is_resync;
ALTER TABLE sync_dirty DROP CONSTRAINT sync_dirty_pkey;
ALTER TABLE sync_dirty DROP COLUMN resync;
ALTER TABLE sync_dirty ADD PRIMARY KEY (property_id, channel_id, pool_id);
INSERT INTO sync_dirty (property_id, channel_id, pool_id, nights, force, echo, version, since)
    SELECT property_id, channel_id, pool_id, nights, force, echo, version, since FROM sync_dirty_merged;
