/**
 * The SQL of one batch, in the order the writer runs it inside one transaction. Tables are not
 * schema-qualified: the connection's search_path picks the schema (public in production, a
 * scratch schema in tests, the benchmark and the rebuild).
 */
import { STAGING_COLUMNS } from './copy-csv.ts';

/**
 * Serialises batch transactions per schema (one lock, not one per user: thousands of per-user
 * advisory locks in one transaction would exhaust the lock table). A user's events share a
 * partition (key = userId) so one consumer writes a user at a time anyway; the lock covers the
 * rest (a rebalance overlap, a session that moves between users, two consumers on one schema),
 * where two transactions recomputing the same user could otherwise each miss the other's rows
 * under READ COMMITTED. Reads take no lock and never wait for it. The rebuild takes this lock to
 * swap tables. The first key namespaces the lock; the second is the schema.
 */
export const WRITER_LOCK_NAMESPACE = 0x5e55;
export const LOCK_WRITER = `SELECT pg_advisory_xact_lock(${WRITER_LOCK_NAMESPACE}, hashtext(current_schema()))`;

/** Per-connection scratch tables; their rows vanish at commit or rollback. */
export const CREATE_TEMP_TABLES = `
CREATE TEMP TABLE IF NOT EXISTS session_staging (
  session_id   text NOT NULL,
  event_id     uuid NOT NULL,
  user_id      text NOT NULL,
  started_at   timestamptz NOT NULL,
  completed_at timestamptz NOT NULL,
  duration_ms  bigint NOT NULL,
  score        double precision,
  outcome      text NOT NULL,
  attributes   jsonb NOT NULL,
  received_at  timestamptz NOT NULL
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS affected_users (user_id text NOT NULL) ON COMMIT DELETE ROWS;
`;

export const COPY_STAGING = `COPY session_staging (${STAGING_COLUMNS.join(', ')}) FROM STDIN (FORMAT csv)`;

/**
 * Upsert the batch into `sessions` and note whose stats changed.
 * - DISTINCT ON keeps one row per session (two rows for one key would fail the upsert), the
 *   latest by (completed_at, event_id), the same order as the guard below.
 * - The guard compares the tuple with `<`: a redelivered or replayed event is not newer than
 *   itself, so it writes nothing (no dead tuple, no projected_at change) and affects no user.
 * - A re-completion that moves a session to another user changes the old user's stats too;
 *   `previous_owner` reads the pre-update row (all parts of one statement share a snapshot).
 * Returns how many sessions were written and how many users' stats must be recomputed.
 */
export const UPSERT_SESSIONS = `
WITH incoming AS (
  SELECT DISTINCT ON (session_id) *
  FROM session_staging
  ORDER BY session_id, completed_at DESC, event_id DESC
),
previous_owner AS (
  SELECT s.session_id, s.user_id
  FROM sessions s JOIN incoming i ON i.session_id = s.session_id
  WHERE s.user_id <> i.user_id
),
written AS (
  INSERT INTO sessions AS s (
    session_id, event_id, user_id, started_at, completed_at, duration_ms, score, outcome,
    attributes, received_at, projected_at
  )
  SELECT session_id, event_id, user_id, started_at, completed_at, duration_ms, score, outcome,
         attributes, received_at, now()
  FROM incoming
  ON CONFLICT (session_id) DO UPDATE SET
    event_id     = EXCLUDED.event_id,
    user_id      = EXCLUDED.user_id,
    started_at   = EXCLUDED.started_at,
    completed_at = EXCLUDED.completed_at,
    duration_ms  = EXCLUDED.duration_ms,
    score        = EXCLUDED.score,
    outcome      = EXCLUDED.outcome,
    attributes   = EXCLUDED.attributes,
    received_at  = EXCLUDED.received_at,
    projected_at = EXCLUDED.projected_at
  WHERE (s.completed_at, s.event_id) < (EXCLUDED.completed_at, EXCLUDED.event_id)
  RETURNING s.session_id, s.user_id
),
users AS (
  SELECT user_id FROM written
  UNION
  SELECT p.user_id FROM previous_owner p JOIN written w ON w.session_id = p.session_id
),
noted AS (
  INSERT INTO affected_users (user_id) SELECT user_id FROM users RETURNING 1
)
SELECT (SELECT count(*) FROM written)::int AS sessions_written,
       (SELECT count(*) FROM noted)::int AS users_affected
`;

/**
 * user_stats: recompute, don't add deltas. Applying old/new deltas would be O(batch) but
 * best_score and last_completed_at are maxima, which a delta cannot undo when a re-completion
 * lowers them; recomputing from `sessions` is exact by construction, and only touches the users
 * whose rows actually changed in this batch (none on a replay). The LATERAL subquery makes the
 * plan one index range scan on sessions_user_recent_idx per user, whatever the planner thinks
 * of the (never analysed) temp table. Cost: proportional to the touched users' session counts.
 */
export const RECOMPUTE_USER_STATS = `
INSERT INTO user_stats AS u (
  user_id, sessions_completed, total_duration_ms, avg_duration_ms, best_score, avg_score,
  scored_sessions, completed_count, failed_count, abandoned_count, last_completed_at, updated_at
)
SELECT a.user_id, agg.sessions_completed, agg.total_duration_ms, agg.avg_duration_ms, agg.best_score,
       agg.avg_score, agg.scored_sessions, agg.completed_count, agg.failed_count, agg.abandoned_count,
       agg.last_completed_at, now()
FROM affected_users a
CROSS JOIN LATERAL (
  SELECT count(*)                                       AS sessions_completed,
         coalesce(sum(s.duration_ms), 0)::bigint        AS total_duration_ms,
         coalesce(avg(s.duration_ms), 0)::float8        AS avg_duration_ms,
         max(s.score)                                   AS best_score,
         avg(s.score)                                   AS avg_score,
         count(s.score)                                 AS scored_sessions,
         count(*) FILTER (WHERE s.outcome = 'completed') AS completed_count,
         count(*) FILTER (WHERE s.outcome = 'failed')    AS failed_count,
         count(*) FILTER (WHERE s.outcome = 'abandoned') AS abandoned_count,
         max(s.completed_at)                            AS last_completed_at
  FROM sessions s
  WHERE s.user_id = a.user_id
) agg
WHERE agg.sessions_completed > 0
ON CONFLICT (user_id) DO UPDATE SET
  sessions_completed = EXCLUDED.sessions_completed,
  total_duration_ms  = EXCLUDED.total_duration_ms,
  avg_duration_ms    = EXCLUDED.avg_duration_ms,
  best_score         = EXCLUDED.best_score,
  avg_score          = EXCLUDED.avg_score,
  scored_sessions    = EXCLUDED.scored_sessions,
  completed_count    = EXCLUDED.completed_count,
  failed_count       = EXCLUDED.failed_count,
  abandoned_count    = EXCLUDED.abandoned_count,
  last_completed_at  = EXCLUDED.last_completed_at,
  updated_at         = EXCLUDED.updated_at
`;

/** A user whose last session moved to another user has no stats any more. */
export const DELETE_EMPTY_USER_STATS = `
DELETE FROM user_stats u
USING affected_users a
WHERE u.user_id = a.user_id
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = a.user_id)
`;

/**
 * The reference aggregate, for tests and checks: what user_stats must equal. Same expressions
 * as RECOMPUTE_USER_STATS, over every user.
 */
export const USER_STATS_FROM_SESSIONS = `
SELECT s.user_id,
       count(*)::bigint                                 AS sessions_completed,
       sum(s.duration_ms)::bigint                       AS total_duration_ms,
       avg(s.duration_ms)::float8                       AS avg_duration_ms,
       max(s.score)                                     AS best_score,
       avg(s.score)                                     AS avg_score,
       count(s.score)                                   AS scored_sessions,
       count(*) FILTER (WHERE s.outcome = 'completed')  AS completed_count,
       count(*) FILTER (WHERE s.outcome = 'failed')     AS failed_count,
       count(*) FILTER (WHERE s.outcome = 'abandoned')  AS abandoned_count,
       max(s.completed_at)                              AS last_completed_at
FROM sessions s
GROUP BY s.user_id
`;
