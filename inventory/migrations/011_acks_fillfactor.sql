-- Every push rewrites the acknowledgement of each night it sent, and a full
-- resync rewrites all of a channel's in one statement. With full pages each
-- of those updates put the new row on another page and a new entry in the
-- key's index (5 % of a bulk resync's updates stayed on their page); with
-- half of every page free they stay on it (HOT updates: no index entry, and
-- the old versions are pruned from the page without a vacuum). Pages written
-- before this keep what free space vacuum leaves in them.
ALTER TABLE sync_acks SET (fillfactor = 50);

---- create above / drop below ----

ALTER TABLE sync_acks RESET (fillfactor);
