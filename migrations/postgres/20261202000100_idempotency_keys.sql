-- migrate:up

-- What each keyed request asked for: the request hash of the first event seen with each event id
-- that carries one (events made from an Idempotency-Key; docs/events.md). A later event with the
-- same id and another hash is a key reused for a different request: the consumer keeps the first
-- (it is never projected) and dead-letters the other as IDEMPOTENCY_CONFLICT. `sessions` keeps
-- only the current event of a session, so it cannot answer "was this id seen before": this table
-- can, for every keyed event, for good. It grows by one row per keyed event (about 100 bytes).
CREATE TABLE idempotency_keys (
  event_id      uuid PRIMARY KEY,
  request_hash  text NOT NULL,
  first_seen_at timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE IF EXISTS idempotency_keys;
