-- Runs once, when the compose postgres volume is first initialised (docker-entrypoint-initdb.d).
-- The native stack does the same in stack/postgres.ts.
CREATE EXTENSION IF NOT EXISTS pg_stat_statements;
