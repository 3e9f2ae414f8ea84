/**
 * Every SQL query the read routes run, in one place, so the EXPLAIN test and scripts/explain.ts
 * check exactly what production runs. Each one is served by an index: the primary keys, or
 * sessions_user_recent_idx (user_id, completed_at DESC, session_id DESC) for a user's sessions,
 * newest first, with a keyset (row-value) condition instead of OFFSET.
 */
const SESSION_COLUMNS = `session_id, user_id, event_id::text AS event_id, started_at, completed_at,
  duration_ms::float8 AS duration_ms, score, outcome, attributes, received_at, projected_at`;

export const READ_QUERIES = {
  sessionById: {
    name: 'reads_session_by_id',
    text: `SELECT ${SESSION_COLUMNS} FROM sessions WHERE session_id = $1`,
  },
  userStats: {
    name: 'reads_user_stats',
    text: `SELECT user_id, sessions_completed::float8 AS sessions_completed,
              total_duration_ms::float8 AS total_duration_ms, avg_duration_ms, best_score, avg_score,
              scored_sessions::float8 AS scored_sessions, completed_count::float8 AS completed_count,
              failed_count::float8 AS failed_count, abandoned_count::float8 AS abandoned_count,
              last_completed_at, updated_at
           FROM user_stats WHERE user_id = $1`,
  },
  userSessionsFirstPage: {
    name: 'reads_user_sessions_first',
    text: `SELECT ${SESSION_COLUMNS} FROM sessions
           WHERE user_id = $1
           ORDER BY completed_at DESC, session_id DESC
           LIMIT $2`,
  },
  userSessionsBefore: {
    name: 'reads_user_sessions_before',
    text: `SELECT ${SESSION_COLUMNS} FROM sessions
           WHERE user_id = $1 AND (completed_at, session_id) < ($2::timestamptz, $3::text)
           ORDER BY completed_at DESC, session_id DESC
           LIMIT $4`,
  },
} as const;

export type ReadQueryName = keyof typeof READ_QUERIES;
