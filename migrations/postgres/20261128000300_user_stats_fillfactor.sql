-- migrate:up

-- Nearly every batch updates thousands of user_stats rows in place. With free space left in
-- each page the update stays on the page (a HOT update: no new index entry, less WAL);
-- with full pages every update moves the row and adds a primary-key entry.
ALTER TABLE user_stats SET (fillfactor = 70);

-- migrate:down
ALTER TABLE user_stats RESET (fillfactor);
