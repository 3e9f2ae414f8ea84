/**
 * The SQL of one batch, in the order the writer runs it inside one transaction. Tables are not
 * schema-qualified: the connection's search_path picks the schema (public in production, a
 * scratch schema in tests, the benchmark and the rebuild).
 */
import { STAGING_COLUMNS } from './copy-csv.ts';

/** The user_stats columns USER_STATS_FROM_SESSIONS yields, in its order (for EXCEPT checks). */
export const USER_STATS_COLUMNS = [
  'user_id', 'sessions_completed', 'total_duration_ms', 'avg_duration_ms', 'best_score', 'avg_score', 'score_sum',
  'scored_sessions', 'completed_count', 'failed_count', 'abandoned_count', 'last_completed_at',
] as const;

/** The head of every write of user_stats rows (a delta, a neutral row, a recompute): its columns in one order. */
const INSERT_USER_STATS = `INSERT INTO user_stats AS u (${[...USER_STATS_COLUMNS, 'updated_at'].join(', ')})`;

/**
 * Batch transactions run side by side; the rebuild alone excludes them. Each batch takes this
 * lock SHARED (writers never wait for each other), the rebuild takes it EXCLUSIVE to swap the
 * tables, so while it holds the lock no batch is between its first statement and its commit.
 * The first key namespaces the lock; the second is the schema.
 *
 * It used to be exclusive, one writer per schema at a time. With two or three consumer instances
 * a batch then waited 0.3-0.75 s for the others' transactions (Postgres's log, issue 13's drill),
 * and the new members of a scaled-up group waited longest, so freshness while scaling missed the
 * 1 s goal. Writers need no mutual exclusion for user_stats to stay exact, because:
 * - a user's events share a partition (key = userId), so one member writes a user at a time,
 *   except for the moment a rebalance hands a partition over, when the old and the new owner may
 *   both write the same events: the second upsert of a session waits for the first one's row at
 *   the unique index, then finds it no older than its own event and writes nothing;
 * - deltas add and take maxima: they commute, whatever order two transactions apply them in;
 * - a recompute (a replaced or moved session, possibly of a user another member is adding
 *   sessions to) first locks the users' user_stats rows (LOCK_RECOMPUTE_USERS), then recomputes
 *   in a later statement, whose snapshot includes every transaction that changed those rows
 *   before the lock was granted; a delta applied after it lands on top of an aggregate that did
 *   not count it;
 * - the sessions a batch replaces are locked before the upsert reads them (LOCK_SESSIONS), so
 *   it knows their current owners; a session the upsert replaces although its snapshot did not
 *   show it (inserted by a batch that committed meanwhile) fails the batch as a serialization
 *   failure (UPSERT_SESSIONS, `unseen`), and the retry sees it.
 * Rows are locked in key order (sessions, deltas, recomputes), so two transactions over the same
 * rows rarely deadlock; when they do, Postgres aborts one and the run loop retries its batch.
 */
export const WRITER_LOCK_NAMESPACE = 0x5e55;
export const LOCK_WRITER = `SELECT pg_advisory_xact_lock_shared(${WRITER_LOCK_NAMESPACE}, hashtext(current_schema()))`;

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
CREATE TEMP TABLE IF NOT EXISTS recompute_users (user_id text NOT NULL) ON COMMIT DELETE ROWS;
`;

/**
 * Records the request hash of each keyed event id not seen before (the first copy wins, for good)
 * and returns the ids this batch brings with ANOTHER hash than the one already recorded: keys
 * reused for a different request (consumers/postgres/idempotency.ts). The final SELECT reads the
 * table as it was before this statement, so the batch's own new rows never count as "before".
 * $1: uuid[] event ids (distinct), $2: text[] their hashes.
 */
export const RECORD_REQUEST_KEYS = `
WITH incoming AS (
  SELECT * FROM unnest($1::uuid[], $2::text[]) AS i(event_id, request_hash)
),
recorded AS (
  INSERT INTO idempotency_keys (event_id, request_hash)
  SELECT event_id, request_hash FROM incoming
  ON CONFLICT (event_id) DO NOTHING
)
SELECT k.event_id::text AS event_id, k.request_hash AS first_hash
FROM incoming i JOIN idempotency_keys k ON k.event_id = i.event_id
WHERE k.request_hash <> i.request_hash
`;

export const COPY_STAGING = `COPY session_staging (${STAGING_COLUMNS.join(', ')}) FROM STDIN (FORMAT csv)`;

/**
 * Locks the batch's sessions that already exist, in session_id order, before the upsert: the
 * upsert is a later statement, so its snapshot shows each of them as last committed, and no other
 * batch changes them before this one commits. Without it, two batches replacing one session at
 * once (two users, two partitions) could each read the other's overwritten owner as "previous"
 * and leave that owner counting a session it lost. New sessions have nothing to lock: the unique
 * index orders those, and UPSERT_SESSIONS's `unseen` catches one inserted meanwhile.
 */
export const LOCK_SESSIONS = `
SELECT 1 FROM sessions
WHERE session_id IN (SELECT session_id FROM session_staging)
ORDER BY session_id
FOR UPDATE
`;

/*
 * How user_stats stays exactly equal to an aggregate over `sessions`, batch after batch:
 * - A user whose rows in this batch are all NEW sessions gets a delta: counts and sums add, and
 *   best score / last completion are maxima, which only grow when rows are added. O(batch).
 * - A user with a REPLACED session (a re-completion), or who lost a session to another user, is
 *   recomputed from `sessions`: a delta cannot undo a maximum (the replaced session may have
 *   held the best score). Re-completions are the rare case, so the recompute stays small.
 * - Averages are derived, in every path, from exact sums with the same expression
 *   (AVG_DURATION / AVG_SCORE): bigint total, numeric score_sum. Numeric addition is exact, so
 *   the delta path and the recompute land on the same bits whatever order rows are summed in.
 * Users whose rows did not change (a replay, an older re-completion) are not touched at all.
 */
const AVG_DURATION = (total: string, n: string) => `(${total}::numeric / NULLIF(${n}, 0))::float8`;
const AVG_SCORE = (sum: string, n: string) => `(${sum} / NULLIF(${n}, 0))::float8`;

/**
 * Upsert the batch into `sessions`, apply the deltas of users who only gained sessions, and
 * queue the users with a replaced session for RECOMPUTE_USER_STATS (which must be a separate
 * statement: it has to see the rows this one writes).
 * - DISTINCT ON keeps one row per session (two rows for one key would fail the upsert), the
 *   latest by (completed_at, event_id), the same order as the guard below.
 * - The guard compares the tuple with `<`: a redelivered or replayed event is not newer than
 *   itself, so it writes nothing (no dead tuple, no projected_at change) and touches no user.
 * - `previous` reads the rows as they were before this statement (all parts of one statement
 *   share a snapshot): a written session found there was replaced, not added.
 * Returns how many sessions were written, users queued for recompute, and users given a delta.
 */
export const UPSERT_SESSIONS = `
WITH incoming AS (
  SELECT DISTINCT ON (session_id) *
  FROM session_staging
  ORDER BY session_id, completed_at DESC, event_id DESC
),
previous AS (
  SELECT s.session_id, s.user_id
  FROM sessions s JOIN incoming i ON i.session_id = s.session_id
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
  RETURNING s.session_id, s.user_id, s.duration_ms, s.score, s.outcome, s.completed_at,
            -- the new version of an updated row carries this transaction in xmax (the lock the
            -- conflict took), an inserted one does not: which rows were replaced
            (s.xmax <> 0) AS replaced
),
unseen AS (
  -- A replaced session this statement's snapshot did not show: another transaction inserted it
  -- and committed while this one waited at the unique index (a partition handed over during a
  -- rebalance, two consumers writing it at once). Who owned it before is unknown here, so the
  -- batch fails as a serialization failure, is rolled back and retried with a newer snapshot.
  SELECT retry_batch('session ' || w.session_id || ' was written by a concurrent batch; retrying') AS r
  FROM written w
  WHERE w.replaced AND NOT EXISTS (SELECT 1 FROM previous p WHERE p.session_id = w.session_id)
),
to_recompute AS (
  SELECT w.user_id FROM written w JOIN previous p ON p.session_id = w.session_id
  UNION
  SELECT p.user_id FROM written w JOIN previous p ON p.session_id = w.session_id
),
queued AS (
  INSERT INTO recompute_users (user_id) SELECT user_id FROM to_recompute RETURNING 1
),
deltas AS (
  SELECT w.user_id,
         count(*)                                        AS sessions,
         sum(w.duration_ms)::bigint                      AS total_duration_ms,
         coalesce(sum(w.score::numeric), 0)              AS score_sum,
         count(w.score)                                  AS scored_sessions,
         max(w.score)                                    AS best_score,
         count(*) FILTER (WHERE w.outcome = 'completed') AS completed_count,
         count(*) FILTER (WHERE w.outcome = 'failed')    AS failed_count,
         count(*) FILTER (WHERE w.outcome = 'abandoned') AS abandoned_count,
         max(w.completed_at)                             AS last_completed_at
  FROM written w
  WHERE NOT EXISTS (SELECT 1 FROM to_recompute r WHERE r.user_id = w.user_id)
  GROUP BY w.user_id
),
incremented AS (
  -- Users whose batch only added sessions: add the delta (insert it, for a new user). This part
  -- needs no view of the new sessions rows, so it runs in this statement.
  ${INSERT_USER_STATS}
  SELECT d.user_id, d.sessions, d.total_duration_ms, ${AVG_DURATION('d.total_duration_ms', 'd.sessions')},
         d.best_score, ${AVG_SCORE('d.score_sum', 'd.scored_sessions')}, d.score_sum, d.scored_sessions,
         d.completed_count, d.failed_count, d.abandoned_count, d.last_completed_at, now()
  FROM deltas d
  ORDER BY d.user_id
  ON CONFLICT (user_id) DO UPDATE SET
    sessions_completed = u.sessions_completed + EXCLUDED.sessions_completed,
    total_duration_ms  = u.total_duration_ms + EXCLUDED.total_duration_ms,
    avg_duration_ms    = ${AVG_DURATION('(u.total_duration_ms + EXCLUDED.total_duration_ms)', '(u.sessions_completed + EXCLUDED.sessions_completed)')},
    best_score         = GREATEST(u.best_score, EXCLUDED.best_score),
    score_sum          = u.score_sum + EXCLUDED.score_sum,
    scored_sessions    = u.scored_sessions + EXCLUDED.scored_sessions,
    avg_score          = ${AVG_SCORE('(u.score_sum + EXCLUDED.score_sum)', '(u.scored_sessions + EXCLUDED.scored_sessions)')},
    completed_count    = u.completed_count + EXCLUDED.completed_count,
    failed_count       = u.failed_count + EXCLUDED.failed_count,
    abandoned_count    = u.abandoned_count + EXCLUDED.abandoned_count,
    last_completed_at  = GREATEST(u.last_completed_at, EXCLUDED.last_completed_at),
    updated_at         = EXCLUDED.updated_at
  RETURNING 1
)
SELECT (SELECT count(*) FROM unseen)::int AS unseen,
       (SELECT count(*) FROM written)::int AS sessions_written,
       (SELECT count(*) FROM queued)::int AS users_recomputed,
       (SELECT count(*) FROM incremented)::int AS users_incremented
`;

/** The aggregate columns of one user's sessions `s`, as the recompute and the reference use them. */
const AGGREGATE_COLUMNS = `
         count(*)                                        AS sessions_completed,
         coalesce(sum(s.duration_ms), 0)::bigint         AS total_duration_ms,
         ${AVG_DURATION('coalesce(sum(s.duration_ms), 0)', 'count(*)')} AS avg_duration_ms,
         max(s.score)                                    AS best_score,
         ${AVG_SCORE('coalesce(sum(s.score::numeric), 0)', 'count(s.score)')} AS avg_score,
         coalesce(sum(s.score::numeric), 0)              AS score_sum,
         count(s.score)                                  AS scored_sessions,
         count(*) FILTER (WHERE s.outcome = 'completed') AS completed_count,
         count(*) FILTER (WHERE s.outcome = 'failed')    AS failed_count,
         count(*) FILTER (WHERE s.outcome = 'abandoned') AS abandoned_count,
         max(s.completed_at)                             AS last_completed_at`;

/**
 * Locks the user_stats rows of the users queued for a recompute, in user_id order, before the
 * recompute reads `sessions` in a later statement, whose snapshot is then taken after every
 * transaction that changed those rows before us committed (see LOCK_WRITER for why that keeps
 * user_stats exact without a writer lock). A user without a row gets a neutral one (zero counts
 * and sums, -infinity last completion: what a delta adds to as to nothing), so that a concurrent
 * batch giving the user a first session waits for this one instead of being overwritten by a
 * recompute that did not see it; DELETE_EMPTY_USER_STATS removes it if the user has no session.
 */
export const LOCK_RECOMPUTE_USERS = `
${INSERT_USER_STATS}
SELECT DISTINCT user_id, 0, 0, 0, NULL::float8, NULL::float8, 0, 0, 0, 0, 0, '-infinity'::timestamptz, now()
FROM recompute_users
ORDER BY user_id
ON CONFLICT (user_id) DO UPDATE SET updated_at = u.updated_at
`;

/**
 * Users with a replaced or moved session: recompute from `sessions`. The LATERAL subquery makes
 * the plan one index range scan on sessions_user_recent_idx per user, whatever the planner
 * thinks of the (never analysed) temp table.
 */
export const RECOMPUTE_USER_STATS = `
${INSERT_USER_STATS}
SELECT r.user_id, agg.sessions_completed, agg.total_duration_ms, agg.avg_duration_ms, agg.best_score,
       agg.avg_score, agg.score_sum, agg.scored_sessions, agg.completed_count, agg.failed_count,
       agg.abandoned_count, agg.last_completed_at, now()
FROM (SELECT DISTINCT user_id FROM recompute_users) r
CROSS JOIN LATERAL (
  SELECT ${AGGREGATE_COLUMNS}
  FROM sessions s
  WHERE s.user_id = r.user_id
) agg
WHERE agg.sessions_completed > 0
ON CONFLICT (user_id) DO UPDATE SET
  sessions_completed = EXCLUDED.sessions_completed,
  total_duration_ms  = EXCLUDED.total_duration_ms,
  avg_duration_ms    = EXCLUDED.avg_duration_ms,
  best_score         = EXCLUDED.best_score,
  avg_score          = EXCLUDED.avg_score,
  score_sum          = EXCLUDED.score_sum,
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
USING recompute_users r
WHERE u.user_id = r.user_id
  AND NOT EXISTS (SELECT 1 FROM sessions s WHERE s.user_id = r.user_id)
`;

/**
 * The reference aggregate, for tests, the benchmark and checks: what user_stats must equal
 * (its columns other than updated_at), computed from scratch over every user.
 */
export const USER_STATS_FROM_SESSIONS = `
SELECT s.user_id, ${AGGREGATE_COLUMNS}
FROM sessions s
GROUP BY s.user_id
`;

