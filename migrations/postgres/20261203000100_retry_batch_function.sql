-- migrate:up

-- Batch transactions of the Postgres consumer run side by side (no writer lock: see
-- consumers/postgres/store-sql.ts). The one interleaving the upsert cannot handle itself, a
-- session written by another transaction that committed while this one ran (its snapshot does not
-- show who owned the session before), makes the batch call this: a serialization failure, which
-- rolls the batch back and which the consumer retries, with a snapshot that then shows the row.
CREATE FUNCTION retry_batch(reason text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = 'serialization_failure', MESSAGE = reason;
END
$$;

-- migrate:down
DROP FUNCTION IF EXISTS retry_batch(text);
