-- migrate:up

-- The Postgres read model of SessionCompleted, written only by consumers/postgres.
-- Tables are not schema-qualified on purpose: tests, the benchmark and the rebuild create the
-- same tables in a scratch schema (search_path) from this file.

-- One row per session: the latest (completed_at, event_id) wins, so a replay is a no-op.
CREATE TABLE sessions (
  session_id   text PRIMARY KEY,
  event_id     uuid NOT NULL,
  user_id      text NOT NULL,
  started_at   timestamptz NOT NULL,
  completed_at timestamptz NOT NULL,
  duration_ms  bigint NOT NULL,
  score        double precision,
  outcome      text NOT NULL CHECK (outcome IN ('completed', 'failed', 'abandoned')),
  attributes   jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- when the API accepted the request (its clock), and when this row was last written
  received_at  timestamptz NOT NULL,
  projected_at timestamptz NOT NULL DEFAULT now()
);

-- The only secondary index. It serves both reads and the write path's stats recompute:
--   GET /users/:id/sessions  WHERE user_id = $1 AND (completed_at, session_id) < ($2, $3)
--                            ORDER BY completed_at DESC, session_id DESC LIMIT n
--   user_stats recompute     WHERE user_id = $1 (prefix)
-- GET /sessions/:id uses the primary key. Nothing else is queried, so nothing else is indexed.
CREATE INDEX sessions_user_recent_idx ON sessions (user_id, completed_at DESC, session_id DESC);

-- Per-user aggregates, recomputed from `sessions` for every user a batch touched, in the same
-- transaction: always exactly what an aggregate over `sessions` would say.
CREATE TABLE user_stats (
  user_id            text PRIMARY KEY,
  sessions_completed bigint NOT NULL,
  total_duration_ms  bigint NOT NULL,
  avg_duration_ms    double precision NOT NULL,
  -- over the sessions that carry a score (scored_sessions of them); NULL when none does
  best_score         double precision,
  avg_score          double precision,
  scored_sessions    bigint NOT NULL,
  completed_count    bigint NOT NULL,
  failed_count       bigint NOT NULL,
  abandoned_count    bigint NOT NULL,
  last_completed_at  timestamptz NOT NULL,
  updated_at         timestamptz NOT NULL DEFAULT now()
);

-- migrate:down
DROP TABLE IF EXISTS user_stats;
DROP TABLE IF EXISTS sessions;
